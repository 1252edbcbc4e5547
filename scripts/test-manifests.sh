#!/usr/bin/env bash
# scripts/test-manifests.sh — validate deploy/kubernetes/ offline (no cluster, no kustomize binary).
#
# 1. A virtual environment in .data/venv-manifests with pinned kubernetes-validate, jsonschema and
#    PyYAML from PyPI (recreated when this script's pins change).
# 2. scripts/check-manifests.py: renders deploy/kubernetes/base and each overlay with
#    scripts/kustomize-render.py (the kustomize subset those kustomizations use: resources,
#    namespace, images, `$patch: delete` patches — anything else is refused), validates every
#    built-in object with kubernetes-validate (strict) for Kubernetes $K8S_VERSION, checks the
#    custom resources (KEDA ScaledObject, PodMonitor) against small structural JSON schemas of its
#    own — kubernetes-validate has no schemas for CRDs —, and asserts pinned images, probes,
#    resources, restricted pod security, secrets by reference, the worker's grace period above
#    WORKER_SHUTDOWN_GRACE_SECONDS, and ports/executables matching compose/Dockerfile.
# Exits non-zero on any failure.
#
# Environment honoured:
#   PYTHON        the interpreter the virtual environment is made from (default: python3)
#   K8S_VERSION   Kubernetes version the objects are validated against (default: 1.30)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
# shellcheck source=lib/venv.sh
source scripts/lib/venv.sh
PYTHON="${PYTHON:-python3}"
VENV="$REPO/.data/venv-manifests"
PINS="kubernetes-validate==1.37.0 jsonschema==4.26.0 PyYAML==6.0.3"

echo "==> manifests: virtual environment ($VENV)"
python_venv "$VENV" "$PINS"

echo "==> manifests: render and validate deploy/kubernetes (Kubernetes ${K8S_VERSION:-1.30})"
K8S_VERSION="${K8S_VERSION:-1.30}" "$VENV/bin/python" scripts/check-manifests.py
