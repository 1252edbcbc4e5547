#!/usr/bin/env bash
# scripts/test.sh — the whole test suite, from a fresh machine of this kind.
#
# Installs what is missing (scripts/deps.sh), starts the project's own Redis and PostgreSQL
# (scripts/services.sh), builds, runs every Swift test against those real servers, and checks
# compose/compose.yaml against the Compose schema. Exits non-zero on any failure.
#
# Environment honoured:
#   SWIFT_TEST_ARGS   extra arguments for `swift test` (e.g. "--filter RedisClientTests")
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

echo "==> dependencies"
scripts/deps.sh

echo "==> services"
# shellcheck disable=SC2046
export $(scripts/services.sh start)
# Tests use their own database and Redis db, apart from the development ones.
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgresql://saas:saas@127.0.0.1:5433/saas_test}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-${REDIS_URL%/*}/1}"

echo "==> compose file"
scripts/check-compose.sh

echo "==> build"
swift build --build-tests

echo "==> tests"
# shellcheck disable=SC2086
swift test --skip-build --disable-xctest ${SWIFT_TEST_ARGS:-}
