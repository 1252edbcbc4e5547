#!/usr/bin/env bash
# scripts/test-fuzz.sh — schemathesis against the live API, from the API's own OpenAPI document.
#
# 1. A virtual environment in .data/venv-fuzz with pinned schemathesis and openapi-spec-validator
#    from PyPI (recreated when this script's pins change).
# 2. The debug binaries of `swift build` (built once if missing): saas-mock-llm, saas-api
#    (migrated first) and one saas-worker, on free loopback ports, against a database and Redis db
#    of their own (emptied first, so every run starts from the same state).
# 3. Fixtures through the admin API (curl): the organization `acme`, a provider `openai-main` on
#    the mock, the model group `gpt-fast` and the team `acme-research` with credits — the ids the
#    document's examples use, so that examples and generated bodies reach a real team and group
#    instead of stopping at 403/404.
# 4. GET /openapi.json, validated with openapi-spec-validator; then `schemathesis run` with the
#    admin key and the team's bearer on every request (each route reads only its own header),
#    FUZZ_MAX_EXAMPLES cases per operation (default 25) within FUZZ_MAX_TIME seconds (default 240),
#    phases examples, coverage and fuzzing, and the checks not_a_server_error,
#    status_code_conformance, content_type_conformance, response_headers_conformance and
#    response_schema_conformance.
# 5. Prints the figures (operations, requests, 5xx) from schemathesis' HAR report, and exits
#    non-zero on any failed check, any 5xx, an invalid document, or a process that did not start.
#    Whatever it started is stopped on any exit. Reports: .data/fuzz/ (HAR, JUnit, logs).
#
# Operations left out of the run, and why:
#   destroying the fixtures the rest relies on —
#   POST /api/teams/{team_id}/rotate-key   the team's bearer stops working: every team route
#                                          after it is a 401
#   PUT /api/teams/{team_id}/suspend       every team route after it is a 403
#   POST /api/admin/queue/pause            the one worker stops claiming; later submits pile up
#                                          (resume is fuzzed, and harmless)
#   POST /api/admin/workers/{worker_id}/drain   reaches the real worker through its listed id,
#                                          and then it exits
#   pointing traffic off this machine — the run must reach nothing but loopback, and these set
#   the addresses the worker (or the API) then connects to; the examples name the fixtures, so
#   `openai-main` would become https://api.openai.com/v1 —
#   PUT /api/providers/{name}              a provider's base_url (create is fuzzed: a provider no
#                                          group of the fixture team uses is never called)
#   PUT /api/model-groups/{name}/models    the fixture group's models, onto fuzzed providers
#   PUT /api/teams/{team_id}/model-groups  the fixture team's groups, onto fuzzed providers
#   PUT /api/teams/{team_id}/webhook       a webhook target: resolved by the API, sent to by the
#                                          worker
# (all eight are covered by the Swift suites.)
#
# One schemathesis worker: with several, Python 3.11's ast module (hypothesis describes its
# strategies from their source) fails now and then under threads — "AST constructor recursion
# depth mismatch", CPython gh-106905 — and the run reports a runtime error that is not the API's.
#
# Environment honoured:
#   FUZZ_DATABASE_URL   PostgreSQL database of this run (default: DATABASE_URL's server, saas_fuzz;
#                       created when missing, emptied on each run)
#   FUZZ_REDIS_URL      Redis db of this run (default: REDIS_URL's server, db 4; flushed on each run)
#   FUZZ_MAX_EXAMPLES   test cases per operation (default 25)
#   FUZZ_MAX_TIME       time budget of the whole schemathesis run, seconds (default 240)
#   FUZZ_SEED           schemathesis' seed (default: a fixed one, so runs repeat; "random" for none)
#   FUZZ_ARGS           extra schemathesis arguments (e.g. "--include-path-regex ^/api/jobs")
#   PYTHON              the interpreter the virtual environment is made from (default: python3)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
# shellcheck source=lib/venv.sh
source scripts/lib/venv.sh
# shellcheck source=lib/live-system.sh
source scripts/lib/live-system.sh
PYTHON="${PYTHON:-python3}"
VENV="$REPO/.data/venv-fuzz"
OUT="$REPO/.data/fuzz"
LOGS="$REPO/.data/test-logs"
mkdir -p "$LOGS"
rm -rf "$OUT"
mkdir -p "$OUT"
PINS="schemathesis==4.32.5 openapi-spec-validator==0.9.0"

echo "==> fuzz: virtual environment ($VENV)"
python_venv "$VENV" "$PINS"

echo "==> fuzz: services and binaries"
if [[ -z "${DATABASE_URL:-}" || -z "${REDIS_URL:-}" ]]; then
    # shellcheck disable=SC2046
    export $(scripts/services.sh start)
fi
DB_URL="${FUZZ_DATABASE_URL:-${DATABASE_URL%/*}/saas_fuzz}"
R_URL="${FUZZ_REDIS_URL:-${REDIS_URL%/*}/4}"
DB_NAME="${DB_URL##*/}"
[[ "$DB_NAME" =~ ^[A-Za-z0-9_]+$ ]] || { echo "FUZZ_DATABASE_URL must end in a plain database name" >&2; exit 1; }
# A fresh database and Redis db each run: the fixtures' ids are fixed.
psql "${DB_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null
psql "${DB_URL%/*}/postgres" -qc "CREATE DATABASE $DB_NAME"
R_HOSTPORT="${R_URL#redis://}"
R_HOSTPORT="${R_HOSTPORT#*@}"
R_DB="${R_HOSTPORT##*/}"
R_HOSTPORT="${R_HOSTPORT%%/*}"
redis-cli -h "${R_HOSTPORT%:*}" -p "${R_HOSTPORT##*:}" -n "$R_DB" FLUSHDB >/dev/null

live_binaries
live_start fuzz "$DB_URL" "$R_URL"
API="http://127.0.0.1:$API_PORT"

echo "==> fuzz: fixtures (organization, provider on the mock, model group, team with credits)"
admin() { # METHOD PATH [JSON] — fails on any non-2xx, printing the answer
    local answer
    answer="$(curl -sS -w '\n%{http_code}' -X "$1" "$API$2" -H "X-Admin-Key: $MASTER" -H 'Content-Type: application/json' ${3:+--data "$3"})"
    local code="${answer##*$'\n'}"
    if [[ "$code" != 2* ]]; then
        echo "fixture $1 $2 answered $code: ${answer%$'\n'*}" >&2
        return 1
    fi
    printf '%s' "${answer%$'\n'*}"
}
admin POST /api/organizations/create '{"organization_id": "acme", "name": "Acme Corp"}' >/dev/null
admin POST /api/providers/create "{\"name\": \"openai-main\", \"kind\": \"openai\", \"base_url\": \"http://127.0.0.1:$MOCK_PORT\", \"api_key\": \"sk-mock-provider-key\", \"timeout_seconds\": 30}" >/dev/null
admin POST /api/model-groups/create '{"group_name": "gpt-fast", "models": [{"model_name": "gpt-4o-mini", "provider": "openai-main", "priority": 0, "input_price_per_million": 0.5, "output_price_per_million": 1.5}]}' >/dev/null
TEAM_KEY="$(admin POST /api/teams/create '{"organization_id": "acme", "team_id": "acme-research", "model_groups": ["gpt-fast"], "credits_allocated": 100000000}' |
    "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["virtual_key"])')"
[[ -n "$TEAM_KEY" ]] || { echo "no virtual_key in the team's answer" >&2; exit 1; }

echo "==> fuzz: the OpenAPI document (openapi-spec-validator)"
curl -fsS "$API/openapi.json" -o "$OUT/openapi.json"
"$VENV/bin/python" - "$OUT/openapi.json" <<'EOF'
import json, sys
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
spec, _ = read_from_filename(sys.argv[1])
validate(spec)
operations = sum(1 for item in spec.get("paths", {}).values() for m in item if m in ("get", "put", "post", "delete", "patch", "head", "options", "trace"))
print(f"  valid OpenAPI {spec.get('openapi')}: {len(spec.get('paths', {}))} paths, {operations} operations")
EOF

echo "==> fuzz: schemathesis (${FUZZ_MAX_EXAMPLES:-25} examples per operation, at most ${FUZZ_MAX_TIME:-240} s)"
SEED_ARGS=(--seed "${FUZZ_SEED:-1212}")
[[ "${FUZZ_SEED:-}" == "random" ]] && SEED_ARGS=()
status=0
# Run from $OUT: schemathesis keeps its state in ./.schemathesis/.
cd "$OUT"
# shellcheck disable=SC2086  # FUZZ_ARGS are words
"$VENV/bin/schemathesis" run "$OUT/openapi.json" \
    --url "$API" \
    -H "X-Admin-Key: $MASTER" -H "Authorization: Bearer $TEAM_KEY" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing \
    --max-examples "${FUZZ_MAX_EXAMPLES:-25}" --max-time "${FUZZ_MAX_TIME:-240}" \
    --workers 1 --request-timeout 70 --no-shrink "${SEED_ARGS[@]}" \
    --exclude-name 'POST /api/teams/{team_id}/rotate-key' \
    --exclude-name 'PUT /api/teams/{team_id}/suspend' \
    --exclude-name 'POST /api/admin/queue/pause' \
    --exclude-name 'POST /api/admin/workers/{worker_id}/drain' \
    --exclude-name 'PUT /api/providers/{name}' \
    --exclude-name 'PUT /api/model-groups/{name}/models' \
    --exclude-name 'PUT /api/teams/{team_id}/model-groups' \
    --exclude-name 'PUT /api/teams/{team_id}/webhook' \
    --suppress-health-check all \
    --report har,junit --report-dir "$OUT" \
    ${FUZZ_ARGS:-} >"$OUT/schemathesis.log" 2>&1 || status=$?
tail -n 60 "$OUT/schemathesis.log"

echo "==> fuzz: figures"
figures_status=0
"$VENV/bin/python" - "$OUT" <<'EOF' || figures_status=$?
import glob, json, re, sys
out = sys.argv[1]
hars = glob.glob(f"{out}/har-*.json")
entries = []
for path in set(hars):
    with open(path) as f:
        entries += json.load(f)["log"]["entries"]
statuses = [e["response"]["status"] for e in entries]
server_errors = [e for e in entries if e["response"]["status"] >= 500]
log = open(f"{out}/schemathesis.log").read()
tested = re.search(r"API Operations:\s*\n\s*Selected: (\d+)/(\d+)\s*\n\s*Tested: (\d+)", log)
operations = f"{tested.group(3)} tested of {tested.group(2)} documented" if tested else "?"
print(f"fuzz: operations {operations}, requests {len(entries)}, 5xx {len(server_errors)}")
for e in server_errors[:20]:
    print(f"  5xx: {e['response']['status']} {e['request']['method']} {e['request']['url']}")
sys.exit(1 if server_errors or not entries else 0)
EOF
if ((status != 0 || figures_status != 0)); then
    echo "fuzz: FAILED (schemathesis exit $status; full log $OUT/schemathesis.log, service logs $LOGS/fuzz-*.log)" >&2
    exit 1
fi
echo "fuzz: passed"
