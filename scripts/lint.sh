#!/usr/bin/env bash
# scripts/lint.sh — the code's format, checked with the toolchain's swift-format against the
# repository's .swift-format (Hummingbird's settings). Exits non-zero on any finding.
#
#   scripts/lint.sh          check (scripts/test.sh runs this before building)
#   scripts/lint.sh --fix    rewrite the files in place, then check
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

paths=(Package.swift Sources Tests)
if [[ "${1:-}" == "--fix" ]]; then
  swift format format --in-place --recursive --parallel "${paths[@]}"
fi
swift format lint --strict --recursive --parallel "${paths[@]}"
