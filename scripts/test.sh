#!/usr/bin/env bash
# scripts/test.sh — the whole test suite, from a fresh machine of this kind.
#
# Installs what is missing (scripts/deps.sh), starts the project's own Redis and PostgreSQL
# (scripts/services.sh), checks compose/compose.yaml against the Compose schema, the Kubernetes
# manifests offline and the code's format (scripts/lint.sh), builds, validates the OpenAPI
# document, runs every Swift test against those real servers, then the scripts that drive the
# running system from outside: the Python client's tests, the admin dashboard in headless
# Chromium, and schemathesis against /openapi.json. Exits non-zero on any failure.
#
# Environment honoured:
#   SWIFT_TEST_ARGS   extra arguments for `swift test` (e.g. "--filter RedisClientTests")
#   SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH   tests run at once (default 8)
#   SWIFT_TEST_TIMEOUT   seconds before a hung `swift test` is killed and fails the run (1800)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

echo "==> dependencies"
scripts/deps.sh

echo "==> services"
# shellcheck disable=SC2046
export $(scripts/services.sh start)
# Tests use their own databases and Redis dbs, apart from the development ones: saas_test and
# db 1 for the in-process suites, saas_e2e and db 3 for the end-to-end suite (whose workers must
# never meet other suites' jobs).
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-${DATABASE_URL%/*}/saas_test}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-${REDIS_URL%/*}/1}"
export E2E_DATABASE_URL="${E2E_DATABASE_URL:-${DATABASE_URL%/*}/saas_e2e}"
export E2E_REDIS_URL="${E2E_REDIS_URL:-${REDIS_URL%/*}/3}"

echo "==> compose file"
scripts/check-compose.sh

echo "==> kubernetes manifests (rendered and validated offline)"
scripts/test-manifests.sh

echo "==> format (swift-format lint, .swift-format)"
scripts/lint.sh

echo "==> build"
swift build --build-tests

echo "==> OpenAPI document (openapi-spec-validator)"
scripts/check-openapi.sh

echo "==> tests"
# Swift Testing starts every test at once by default; on 2 cores that inflated single tests to
# 10–40 s and broke their waits. Eight at a time measured faster (289 s against 336 s, 816 tests)
# and without the stalls; SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH overrides it.
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH="${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-8}"
# A test that hangs must fail the run, not stall it until CI's own limit (a socket that had
# connected to itself once held CI for 80 minutes): past SWIFT_TEST_TIMEOUT seconds the run is
# killed and the tests that started without finishing are named. The output goes through a pipe,
# so it is line-buffered (stdbuf): otherwise the last 4 KiB before a hang never reach the log.
mkdir -p .data/test-logs
swift_log=.data/test-logs/swift-test.log
swift_status=0
# shellcheck disable=SC2086
timeout -k 30 "${SWIFT_TEST_TIMEOUT:-1800}" stdbuf -oL -eL swift test --skip-build --disable-xctest ${SWIFT_TEST_ARGS:-} 2>&1 |
    tee "$swift_log" || swift_status=$?
if [ "$swift_status" -ne 0 ]; then
    if [ "$swift_status" -eq 124 ] || [ "$swift_status" -eq 137 ]; then
        echo "==> swift test did not finish within ${SWIFT_TEST_TIMEOUT:-1800} s; started and never finished:" >&2
        python3 - "$swift_log" >&2 <<'PY'
import re, sys
started, ended = [], set()
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r'Test (".*?")(?: with \d+ test cases?)? (started|passed|failed|skipped)', line)
    if not m:
        continue
    (started.append if m.group(2) == "started" else ended.add)(m.group(1))
for name in started:
    if name not in ended:
        print("   ", name)
PY
        # The test runner and the workers and mocks it started are not in timeout's process
        # group: stop whatever of this checkout's build is still running.
        pkill -KILL -f "$REPO/.build/" || true
    fi
    echo "==> swift test FAILED (exit $swift_status); the whole output is in $swift_log" >&2
    exit "$swift_status"
fi

echo "==> python client (clients/python against a running API, worker and mock)"
scripts/test-python.sh

echo "==> admin dashboard in a real browser (headless Chromium, Selenium)"
scripts/test-browser.sh

echo "==> fuzz (schemathesis against the live API from /openapi.json)"
# A bounded run here (the suite stays near 20 minutes on 2 cores); the script's own defaults
# (25 examples, 240 s) are for a deeper run by hand.
FUZZ_MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-10}" FUZZ_MAX_TIME="${FUZZ_MAX_TIME:-120}" scripts/test-fuzz.sh
