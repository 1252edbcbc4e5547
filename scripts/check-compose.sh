#!/usr/bin/env bash
# scripts/check-compose.sh [FILE...] — validate Compose files offline.
#
# No Docker engine (nor the compose plugin) is needed. Each FILE (default:
# compose/compose.yaml) is checked with:
#   1. the official Compose Specification JSON schema, as vendored by the PyPI
#      package check-jsonschema (`--builtin-schema vendor.compose-spec`, pinned
#      in scripts/deps.sh so the schema does not drift). It rejects unknown keys
#      (top level and inside services), wrong types, malformed depends_on, etc.
#   2. a few cross-reference checks the schema cannot express (PyYAML): every
#      depends_on / volume / network name refers to something defined, and every
#      ${...} interpolation is well-formed.
#   3. `docker compose config -q` too, but only if a compose plugin is available
#      (it is not on the CI/dev machines; then this step is skipped, not failed).
# Exits non-zero if any file is invalid; prints the errors.
#
# Missing Python tools are installed by running scripts/deps.sh once.
#
# Environment variables honoured:
#   PYTHON   Python interpreter that has check-jsonschema (default: python3)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
PYTHON="${PYTHON:-python3}"

files=("$@")
((${#files[@]})) || files=("$REPO/compose/compose.yaml")

have_tools() {
  "$PYTHON" -m check_jsonschema --version >/dev/null 2>&1 && "$PYTHON" -c 'import yaml' >/dev/null 2>&1
}
if ! have_tools; then
  echo "check-compose: check-jsonschema / PyYAML missing; running scripts/deps.sh" >&2
  PYTHON="$PYTHON" "$REPO/scripts/deps.sh"
  have_tools || { echo "check-compose: ERROR: check-jsonschema still unavailable for $PYTHON" >&2; exit 1; }
fi

# Cross-reference checks (2). Prints problems, exits 1 if any.
xref_check() {
  "$PYTHON" - "$1" <<'EOF'
import re, sys, yaml

path = sys.argv[1]
with open(path) as f:
    doc = yaml.safe_load(f)          # resolves anchors and << merge keys
errors = []
if not isinstance(doc, dict):
    print(f"{path}: top level is not a mapping"); sys.exit(1)
services = doc.get("services") or {}
volumes = doc.get("volumes") or {}
networks = doc.get("networks") or {}

# Compose interpolation: $$ (escaped), $VAR, ${VAR}, ${VAR:-x}, ${VAR-x}, ${VAR:?msg},
# ${VAR?msg}, ${VAR:+x}, ${VAR+x}. Anything else after a $ is an error in Compose.
name = r"[A-Za-z_][A-Za-z0-9_]*"
token = re.compile(r"\$\$|\$" + name + r"|\$\{" + name + r"(?:(?::?[-?+])[^}]*)?\}|\$")
def walk(node, where):
    if isinstance(node, dict):
        for k, v in node.items():
            walk(v, f"{where}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk(v, f"{where}[{i}]")
    elif isinstance(node, str):
        for m in token.finditer(node):
            if m.group(0) == "$":
                errors.append(f"{where}: invalid interpolation in {node!r} (use $$ for a literal $)")
walk(doc, "$")

if isinstance(services, dict):
    for svc, spec in services.items():
        if not isinstance(spec, dict):
            continue  # the schema reports this
        deps = spec.get("depends_on") or []
        for dep in (deps.keys() if isinstance(deps, dict) else deps):
            if dep not in services:
                errors.append(f"services.{svc}.depends_on: unknown service {dep!r}")
        for vol in spec.get("volumes") or []:
            if isinstance(vol, str):
                if ":" not in vol:
                    continue                      # anonymous volume
                src = vol.split(":", 1)[0]
            elif isinstance(vol, dict) and vol.get("type", "volume") == "volume":
                src = vol.get("source")
            else:
                continue                          # bind/tmpfs/...: nothing to declare
            if src and not src.startswith((".", "/", "~", "$")) and src not in volumes:
                errors.append(f"services.{svc}.volumes: named volume {src!r} is not declared under top-level volumes")
        nets = spec.get("networks") or []
        for net in (nets.keys() if isinstance(nets, dict) else nets):
            if net != "default" and net not in networks:
                errors.append(f"services.{svc}.networks: network {net!r} is not declared under top-level networks")
        if "image" not in spec and "build" not in spec:
            errors.append(f"services.{svc}: needs an image or a build section")

for e in errors:
    print(f"{path}: {e}")
sys.exit(1 if errors else 0)
EOF
}

compose_plugin=0
if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  compose_plugin=1
fi

rc=0
for f in "${files[@]}"; do
  if [[ ! -f "$f" ]]; then
    echo "check-compose: $f: no such file" >&2; rc=1; continue
  fi
  echo "check-compose: $f"
  # (1) Compose Specification schema.
  if ! "$PYTHON" -m check_jsonschema --builtin-schema vendor.compose-spec "$f"; then
    rc=1
    continue
  fi
  # (2) references and interpolation.
  if ! xref_check "$f"; then
    rc=1
    continue
  fi
  # (3) the real loader, where present (with dummy values for required variables).
  if ((compose_plugin)); then
    if ! MASTER_KEY="${MASTER_KEY:-check-compose-dummy-master-key-0123456789}" \
         PROVIDER_KEY_SECRET="${PROVIDER_KEY_SECRET:-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=}" \
         docker compose -f "$f" config -q; then
      rc=1
      continue
    fi
    echo "  docker compose config: ok"
  fi
done

if ((rc)); then
  echo "check-compose: FAILED" >&2
else
  echo "check-compose: all files valid (schema: check-jsonschema $("$PYTHON" -m check_jsonschema --version | awk '{print $NF}') vendor.compose-spec)"
fi
exit "$rc"
