#!/usr/bin/env bash
# scripts/check-openapi.sh — the API's OpenAPI document is a valid OpenAPI 3.1 document.
#
# 1. A virtual environment in .data/venv-openapi with a pinned openapi-spec-validator from PyPI
#    (recreated when this script's pin changes).
# 2. `swift build --product saas-api` (debug), then `saas-api openapi`: the document exactly as
#    GET /openapi.json serves it (the same route table and catalogue), printed without serving or
#    connecting to anything. It exits 1 when a registered route has no catalogue entry.
# 3. openapi-spec-validator on it. The document is kept at .data/openapi.json for reading.
#
# Environment honoured: PYTHON (the interpreter the virtual environment is made from; python3).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
# shellcheck source=lib/venv.sh
source scripts/lib/venv.sh
LOG_TAG=check-openapi
# shellcheck source=lib/common.sh
source scripts/lib/common.sh
PYTHON="${PYTHON:-python3}"
VENV="$REPO/.data/venv-openapi"
PINS="openapi-spec-validator==0.9.0"
DOCUMENT="$REPO/.data/openapi.json"
mkdir -p "$REPO/.data"

say "virtual environment ($VENV)"
python_venv "$VENV" "$PINS"

say "building saas-api (debug)"
swift build --product saas-api >/dev/null
BIN="$(swift build --show-bin-path)/saas-api"

say "printing the document"
# No .env: the document does not depend on configuration, and nothing is connected to.
"$BIN" openapi --env-file /dev/null >"$DOCUMENT" || die "saas-api openapi failed (a registered route missing from the catalogue?)"

say "validating $DOCUMENT"
"$VENV/bin/openapi-spec-validator" "$DOCUMENT"
"$VENV/bin/python" - "$DOCUMENT" <<'PY'
import json, sys
document = json.load(open(sys.argv[1]))
assert document["openapi"].startswith("3.1."), document["openapi"]
operations = sum(1 for item in document["paths"].values() for method in item if method in ("get", "post", "put", "patch", "delete"))
print(f"check-openapi: OpenAPI {document['openapi']}, {len(document['paths'])} paths, {operations} operations, "
      f"{len(document['components']['schemas'])} schemas: valid", file=sys.stderr)
PY
