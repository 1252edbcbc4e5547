#!/usr/bin/env bash
# scripts/demo-setup.sh — registers the mock upstream as the default provider, with a demo
# organization, model group and team, and prints the team's key and a ready curl line.
# Idempotent: on a second run it keeps what exists and rotates the demo team's key (keys are
# shown only once, so a new one is the only way to print it again).
#
# Environment: PORT (API, default 8003), MOCK_LLM_URL (default http://127.0.0.1:8090),
# MASTER_KEY (default: the local development key).
set -euo pipefail

API="http://127.0.0.1:${PORT:-8003}"
MOCK="${MOCK_LLM_URL:-http://127.0.0.1:8090}"
ADMIN="${MASTER_KEY:-sk-admin-local-dev-change-in-production}"

call() { # method path [json] → prints "status body"
    local method=$1 path=$2 body=${3:-}
    curl -sS -o /tmp/demo-setup.$$ -w '%{http_code}' -X "$method" "$API$path" \
        -H "X-Admin-Key: $ADMIN" -H 'Content-Type: application/json' ${body:+-d "$body"}
    echo -n " "; cat /tmp/demo-setup.$$; rm -f /tmp/demo-setup.$$
}
expect() { # allowed-statuses response
    local allowed=$1 response=$2
    [[ " $allowed " == *" ${response%% *} "* ]] || { echo "demo set-up failed: $response" >&2; exit 1; }
}

expect "200 409" "$(call POST /api/organizations/create '{"organization_id":"demo","name":"Demo organization"}')"
r=$(call POST /api/providers/create "{\"name\":\"mock\",\"kind\":\"openai\",\"base_url\":\"$MOCK\",\"api_key\":\"sk-mock-not-a-real-key\"}")
if [[ ${r%% *} == 409 ]]; then r=$(call PUT /api/providers/mock "{\"base_url\":\"$MOCK\"}"); fi
expect "200" "$r"
expect "200 409" "$(call POST /api/model-groups/create '{"group_name":"default","display_name":"Mock model","models":[{"model_name":"mock-gpt","provider":"mock","priority":0,"input_price_per_million":0.5,"output_price_per_million":1.5}]}')"
r=$(call POST /api/teams/create '{"organization_id":"demo","team_id":"demo-team","model_groups":["default"],"credits_allocated":1000}')
if [[ ${r%% *} == 409 ]]; then r=$(call POST /api/teams/demo-team/rotate-key '{}'); fi
expect "200" "$r"
KEY=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1].split(" ",1)[1])["virtual_key"])' "$r")

cat <<MSG
Demo team 'demo-team' (1000 credits, model group 'default' on the mock upstream).
Its key, shown once:  $KEY

Submit a job, then poll it (wait=10 answers as soon as it is done):
  curl -s $API/api/jobs/create -H 'Authorization: Bearer $KEY' -H 'Content-Type: application/json' \\
    -d '{"team_id":"demo-team","job_type":"document_analysis","model":"default","document":"Revenue grew 12% while costs fell.","instructions":"Summarise the key figures."}'
  curl -s '$API/api/jobs/<job_id>?wait=10' -H 'Authorization: Bearer $KEY'
MSG
