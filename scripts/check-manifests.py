#!/usr/bin/env python3
"""scripts/check-manifests.py — validate deploy/kubernetes/ offline (run by scripts/test-manifests.sh).

1. Renders deploy/kubernetes/base and every overlay with scripts/kustomize-render.py (the subset
   of kustomize those kustomizations use).
2. Validates every built-in object with kubernetes-validate (strict: unknown fields refused)
   against the pinned Kubernetes version (K8S_VERSION, default 1.30). kubernetes-validate has no
   schemas for custom resources: the KEDA ScaledObject and the Prometheus Operator's PodMonitor
   are checked against the small JSON schemas below instead (required fields and types of what
   these manifests use, not the CRDs' full schemas). The Prometheus adapter's rule is a ConfigMap
   (validated as one) whose embedded config is checked for its fields.
3. Checks what no schema says: pinned images (no `:latest`, no untagged image), probes (API
   readiness on /ready, liveness on /health; a liveness probe on every long-running container),
   resources on every container, the restricted pod security settings, secrets only by reference,
   every reference resolving (ConfigMaps, named ports, selectors, scale targets), the worker's
   terminationGracePeriodSeconds above WORKER_SHUTDOWN_GRACE_SECONDS of the ConfigMap, a preStop
   on the worker, the HPA on saas_queue_jobs{state="ready"}, and ports and executables matching
   compose/Dockerfile.

Exits non-zero on any failure, printing each.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from typing import Any, Callable

import jsonschema
import kubernetes_validate
import yaml
from kubernetes_validate.utils import SchemaNotFoundError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.environ.get("MANIFESTS_ROOT") or os.path.join(REPO, "deploy", "kubernetes")
K8S_VERSION = os.environ.get("K8S_VERSION", "1.30")
SECRET_VARIABLES = ("MASTER_KEY", "PROVIDER_KEY_SECRET", "DATABASE_URL", "REDIS_URL")

_spec = importlib.util.spec_from_file_location("kustomize_render", os.path.join(REPO, "scripts", "kustomize-render.py"))
assert _spec and _spec.loader
renderer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(renderer)

# ------------------------------------------------------------------ custom resources' schemas

_label_selector = {
    "type": "object",
    "properties": {
        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "matchExpressions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "operator"],
                "properties": {
                    "key": {"type": "string"},
                    "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                    "values": {"type": "array", "items": {"type": "string"}},
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}
_metadata = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}},
}

# keda.sh/v1alpha1 ScaledObject: the fields of KEDA 2.x's CRD that overlays/keda uses.
SCALED_OBJECT = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": _metadata,
        "spec": {
            "type": "object",
            "required": ["scaleTargetRef", "triggers"],
            "additionalProperties": False,
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "name": {"type": "string"}},
                },
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "idleReplicaCount": {"type": "integer", "minimum": 0},
                "advanced": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "restoreToOriginalReplicaCount": {"type": "boolean"},
                        "horizontalPodAutoscalerConfig": {
                            "type": "object",
                            "additionalProperties": False,
                            # behavior is checked against autoscaling/v2's own schema below
                            "properties": {"name": {"type": "string"}, "behavior": {"type": "object"}},
                        },
                    },
                },
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["type", "metadata"],
                        "additionalProperties": False,
                        "properties": {
                            "type": {"type": "string"},
                            "name": {"type": "string"},
                            "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
                            "useCachedMetrics": {"type": "boolean"},
                            # KEDA's trigger metadata values are all strings
                            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                            "authenticationRef": {"type": "object", "required": ["name"]},
                        },
                    },
                },
            },
        },
    },
}

# monitoring.coreos.com/v1 PodMonitor: the fields optional/podmonitor.yaml uses.
POD_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PodMonitor"},
        "metadata": _metadata,
        "spec": {
            "type": "object",
            "required": ["selector", "podMetricsEndpoints"],
            "additionalProperties": False,
            "properties": {
                "selector": _label_selector,
                "namespaceSelector": {"type": "object"},
                "podMetricsEndpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["port"],
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string", "pattern": "^/"},
                            "interval": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                            "scrapeTimeout": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                        },
                    },
                },
            },
        },
    },
}

CUSTOM_SCHEMAS = {("keda.sh/v1alpha1", "ScaledObject"): SCALED_OBJECT, ("monitoring.coreos.com/v1", "PodMonitor"): POD_MONITOR}

# ------------------------------------------------------------------ checks

errors: list[str] = []
counts = {"built-in": 0, "custom (own schema)": 0}


def fail(where: str, message: str) -> None:
    errors.append(f"{where}: {message}")


def name_of(obj: dict[str, Any]) -> str:
    return f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"


def validate_object(obj: dict[str, Any], where: str) -> None:
    key = (obj.get("apiVersion"), obj.get("kind"))
    if key in CUSTOM_SCHEMAS:
        counts["custom (own schema)"] += 1
        for e in jsonschema.Draft202012Validator(CUSTOM_SCHEMAS[key]).iter_errors(obj):
            fail(f"{where} {name_of(obj)}", f"{'.'.join(map(str, e.path))}: {e.message}")
        behaviour = ((obj.get("spec") or {}).get("advanced") or {}).get("horizontalPodAutoscalerConfig", {}).get("behavior")
        if behaviour is not None:
            # the same type as an HPA's spec.behavior: validate it inside a minimal HPA
            probe = {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "probe"},
                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "x"}, "maxReplicas": 1, "behavior": behaviour},
            }
            validate_builtin(probe, f"{where} {name_of(obj)} advanced.horizontalPodAutoscalerConfig.behavior")
        return
    counts["built-in"] += 1
    validate_builtin(obj, f"{where} {name_of(obj)}")
    if obj.get("kind") != "ConfigMap":
        check_quantities(obj.get("spec"), f"{where} {name_of(obj)}", "spec")


def validate_builtin(obj: dict[str, Any], where: str) -> None:
    try:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        fail(where, f"{'.'.join(map(str, e.path))}: {e.message}")
    except SchemaNotFoundError as e:
        fail(where, f"no schema ({e.message}); add one to CUSTOM_SCHEMAS if it is a custom resource")


def pod_specs(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return renderer.pod_specs(obj)


# Kubernetes' resource.Quantity: the JSON schemas accept any string there, the API server does not.
QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$")
QUANTITY_KEYS = {"requests", "limits", "averageValue", "value", "sizeLimit"}


def check_quantities(node: Any, where: str, path: str = "") -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            if key in ("requests", "limits") and isinstance(value, dict):
                for resource, amount in value.items():
                    if not QUANTITY.match(str(amount)):
                        fail(where, f"{here}.{resource}: {amount!r} is not a quantity")
            elif key in QUANTITY_KEYS and isinstance(value, (str, int, float)) and not QUANTITY.match(str(value)):
                fail(where, f"{here}: {value!r} is not a quantity")
            else:
                check_quantities(value, where, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            check_quantities(value, where, f"{path}[{i}]")


def template_labels(obj: dict[str, Any]) -> dict[str, str]:
    return (((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return (pod.get("containers") or []) + (pod.get("initContainers") or [])


def selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expression in selector.get("matchExpressions") or []:
        present = expression["key"] in labels
        value = labels.get(expression["key"])
        operator = expression["operator"]
        if operator == "In" and value not in expression.get("values", []):
            return False
        if operator == "NotIn" and value in expression.get("values", []):
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def dockerfile_facts() -> tuple[set[str], set[int]]:
    """Executables the image holds and ports it exposes (compose/Dockerfile)."""
    text = open(os.path.join(REPO, "compose", "Dockerfile"), encoding="utf-8").read()
    executables = set()
    m = re.search(r"for exe in ([^;]+);", text)
    if m:
        executables = set(m.group(1).split())
    ports = {int(p) for p in re.findall(r"^EXPOSE\s+(\d+)", text, re.M)}
    return executables, ports


def check_set(where: str, objects: list[dict[str, Any]], autoscaler: str) -> None:
    config_maps = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ConfigMap"}
    deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
    workloads = [o for o in objects if pod_specs(o)]
    executables, exposed = dockerfile_facts()

    if any(o["kind"] == "Secret" for o in objects):
        fail(where, "holds a Secret: secrets are referenced (saas-secrets), never shipped in the manifests")
    config = (config_maps.get("saas-config") or {}).get("data") or {}
    if not config:
        fail(where, "no ConfigMap saas-config with data")
    for variable in SECRET_VARIABLES:
        if variable in config:
            fail(where, f"ConfigMap saas-config holds {variable}: it must come from the Secret")

    for obj in workloads:
        label = f"{where} {name_of(obj)}"
        pod = pod_specs(obj)[0]
        security = pod.get("securityContext") or {}
        if security.get("runAsNonRoot") is not True:
            fail(label, "pod securityContext.runAsNonRoot must be true")
        for c in containers(pod):
            cl = f"{label} container {c.get('name')}"
            image = str(c.get("image", ""))
            _, tag, digest = renderer.split_image(image)
            if not tag and not digest:
                fail(cl, f"image {image!r} has no tag (pin one in kustomization.yaml's images:)")
            if tag == "latest":
                fail(cl, f"image {image!r} uses :latest")
            if "/" not in image.split(":")[0]:
                fail(cl, f"image {image!r} was not replaced by kustomization.yaml's images: (no registry path)")
            command = c.get("command") or []
            if not command or command[0] not in executables:
                fail(cl, f"command {command!r} does not run an executable compose/Dockerfile puts in the image {sorted(executables)}")
            resources = c.get("resources") or {}
            for part, fields in (("requests", ("cpu", "memory")), ("limits", ("memory",))):
                for field in fields:
                    if field not in (resources.get(part) or {}):
                        fail(cl, f"resources.{part}.{field} missing")
            sc = c.get("securityContext") or {}
            if sc.get("allowPrivilegeEscalation") is not False:
                fail(cl, "securityContext.allowPrivilegeEscalation must be false")
            if sc.get("readOnlyRootFilesystem") is not True:
                fail(cl, "securityContext.readOnlyRootFilesystem must be true")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                fail(cl, "securityContext.capabilities.drop must hold ALL")
            seccomp = (sc.get("seccompProfile") or security.get("seccompProfile") or {}).get("type")
            if seccomp not in ("RuntimeDefault", "Localhost"):
                fail(cl, "a seccompProfile RuntimeDefault (pod or container) is required")
            for env in c.get("env") or []:
                if env.get("name") in SECRET_VARIABLES:
                    if "secretKeyRef" not in (env.get("valueFrom") or {}):
                        fail(cl, f"{env['name']} must come from a secretKeyRef")
            names = {e.get("name") for e in c.get("env") or []}
            for variable in SECRET_VARIABLES:
                if variable not in names:
                    fail(cl, f"{variable} is not set (from the Secret)")
            for source in c.get("envFrom") or []:
                ref = (source.get("configMapRef") or {}).get("name")
                if ref and ref not in config_maps:
                    fail(cl, f"envFrom names ConfigMap {ref!r}, which is not in the manifests")
                if "secretRef" in source:
                    pass  # a reference, fine
            ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
            for probe_name in ("startupProbe", "livenessProbe", "readinessProbe"):
                port = ((c.get(probe_name) or {}).get("httpGet") or {}).get("port")
                if isinstance(port, str) and port not in ports:
                    fail(cl, f"{probe_name} names port {port!r}, which the container does not declare")
            volumes = {v.get("name") for v in pod.get("volumes") or []}
            for mount in c.get("volumeMounts") or []:
                if mount.get("name") not in volumes:
                    fail(cl, f"volumeMount {mount.get('name')!r} has no volume")

    # The API: probes on /ready and /health, its port the Dockerfile's and the ConfigMap's PORT.
    api = deployments.get("saas-api")
    if not api:
        fail(where, "no Deployment saas-api")
    else:
        if (api["spec"].get("replicas") or 1) < 2:
            fail(where, "Deployment saas-api needs at least 2 replicas")
        c = pod_specs(api)[0]["containers"][0]
        if ((c.get("readinessProbe") or {}).get("httpGet") or {}).get("path") != "/ready":
            fail(where, "saas-api's readinessProbe must GET /ready")
        if ((c.get("livenessProbe") or {}).get("httpGet") or {}).get("path") != "/health":
            fail(where, "saas-api's livenessProbe must GET /health")
        http = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}.get("http")
        if http not in exposed or str(http) != str(config.get("PORT")):
            fail(where, f"saas-api's port http ({http}) must be compose/Dockerfile's EXPOSE {sorted(exposed)} and the ConfigMap's PORT ({config.get('PORT')})")

    # Workers: liveness, preStop, grace above WORKER_SHUTDOWN_GRACE_SECONDS, metrics port.
    worker = deployments.get("saas-worker")
    if not worker:
        fail(where, "no Deployment saas-worker")
    else:
        pod = pod_specs(worker)[0]
        c = pod["containers"][0]
        if "livenessProbe" not in c:
            fail(where, "saas-worker needs a livenessProbe")
        if "preStop" not in (c.get("lifecycle") or {}):
            fail(where, "saas-worker needs a preStop hook")
        try:
            grace = float(config.get("WORKER_SHUTDOWN_GRACE_SECONDS", "20"))
        except ValueError:
            grace = float("inf")
            fail(where, "WORKER_SHUTDOWN_GRACE_SECONDS in the ConfigMap is not a number")
        period = pod.get("terminationGracePeriodSeconds", 30)
        if not period > grace:
            fail(where, f"saas-worker's terminationGracePeriodSeconds ({period}) must be longer than WORKER_SHUTDOWN_GRACE_SECONDS ({grace:g})")
        metrics = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}.get("metrics")
        if metrics is None or str(metrics) != str(config.get("WORKER_METRICS_PORT")):
            fail(where, f"saas-worker's port `metrics` ({metrics}) must be WORKER_METRICS_PORT ({config.get('WORKER_METRICS_PORT')})")
        if str(config.get("METRICS_ENABLED", "true")).lower() == "false":
            fail(where, "METRICS_ENABLED=false: the worker would serve no /metrics, which its probes and the autoscaler need")
        if config.get("WORKER_METRICS_HOST") != "0.0.0.0":
            fail(where, "WORKER_METRICS_HOST must be 0.0.0.0 so that Prometheus reaches the worker's /metrics")

    jobs = [o for o in objects if o["kind"] == "Job"]
    if not any((pod_specs(j)[0]["containers"][0].get("command") or [])[:2] == ["saas-api", "migrate"] for j in jobs):
        fail(where, "no Job running `saas-api migrate`")

    # Services, PDBs and autoscalers point at something real.
    for svc in (o for o in objects if o["kind"] == "Service"):
        selected = [d for d in deployments.values() if selector_matches({"matchLabels": svc["spec"].get("selector") or {}}, template_labels(d))]
        if not selected:
            fail(where, f"{name_of(svc)} selects no pod template")
        for port in svc["spec"].get("ports") or []:
            target = port.get("targetPort")
            if isinstance(target, str):
                for d in selected:
                    declared = {p.get("name") for c in pod_specs(d)[0]["containers"] for p in c.get("ports") or []}
                    if target not in declared:
                        fail(where, f"{name_of(svc)} targetPort {target!r} is not a port of {name_of(d)}")
    pdb_covered = set()
    for pdb in (o for o in objects if o["kind"] == "PodDisruptionBudget"):
        selected = [n for n, d in deployments.items() if selector_matches(pdb["spec"].get("selector") or {}, template_labels(d))]
        if not selected:
            fail(where, f"{name_of(pdb)} selects no pod template")
        pdb_covered.update(selected)
    for name in deployments:
        if name not in pdb_covered:
            fail(where, f"Deployment {name} has no PodDisruptionBudget")
    for d in deployments.values():
        if not selector_matches(d["spec"].get("selector") or {}, template_labels(d)):
            fail(where, f"{name_of(d)}'s selector does not match its own template")

    hpas = [o for o in objects if o["kind"] == "HorizontalPodAutoscaler"]
    scaled = [o for o in objects if o["kind"] == "ScaledObject"]
    for obj in hpas + scaled:
        target = (obj["spec"].get("scaleTargetRef") or {}).get("name")
        if target not in deployments:
            fail(where, f"{name_of(obj)} scales {target!r}, which is not a Deployment here")
    if autoscaler == "hpa":
        if scaled or len(hpas) != 1:
            fail(where, f"expected one HorizontalPodAutoscaler and no ScaledObject, found {len(hpas)} and {len(scaled)}")
        for hpa in hpas:
            external = [m["external"] for m in hpa["spec"].get("metrics") or [] if m.get("type") == "External"]
            if not any(
                e["metric"]["name"] == "saas_queue_jobs" and (e["metric"].get("selector") or {}).get("matchLabels") == {"state": "ready"}
                for e in external
            ):
                fail(where, f"{name_of(hpa)} must scale on the external metric saas_queue_jobs{{state=\"ready\"}}")
    else:
        if hpas or len(scaled) != 1:
            fail(where, f"expected one ScaledObject and no HorizontalPodAutoscaler, found {len(scaled)} and {len(hpas)}")
        for obj in scaled:
            for trigger in obj["spec"]["triggers"]:
                query = trigger["metadata"].get("query", "")
                if trigger["type"] != "prometheus" or "saas_queue_jobs" not in query or 'state="ready"' not in query:
                    fail(where, f"{name_of(obj)} needs a prometheus trigger on saas_queue_jobs{{state=\"ready\"}}")
                if "serverAddress" not in trigger["metadata"] or "threshold" not in trigger["metadata"]:
                    fail(where, f"{name_of(obj)}'s prometheus trigger needs serverAddress and threshold")


def check_adapter_rules(path: str) -> None:
    for obj in renderer.load_documents(path):
        validate_object(obj, os.path.relpath(path, REPO))
        config = yaml.safe_load((obj.get("data") or {}).get("config.yaml", "")) or {}
        rules = config.get("externalRules") or []
        ok = False
        for rule in rules:
            unknown = set(rule) - {"seriesQuery", "resources", "name", "metricsQuery", "seriesFilters"}
            if unknown:
                fail(path, f"externalRules entry has unknown fields {sorted(unknown)}")
            query = str(rule.get("metricsQuery", ""))
            if (
                (rule.get("name") or {}).get("as") == "saas_queue_jobs"
                and "saas_queue_jobs" in str(rule.get("seriesQuery", ""))
                and "<<.Series>>" in query
                and "<<.LabelMatchers>>" in query
            ):
                ok = True
        if not ok:
            fail(path, "no externalRules entry serving saas_queue_jobs with <<.Series>>{<<.LabelMatchers>>}")


def main() -> int:
    sets: list[tuple[str, str]] = [("base", "hpa")]
    overlays = os.path.join(ROOT, "overlays")
    for name in sorted(os.listdir(overlays)) if os.path.isdir(overlays) else []:
        sets.append((f"overlays/{name}", "keda" if name == "keda" else "hpa"))
    rendered = 0
    for directory, autoscaler in sets:
        try:
            objects = renderer.render(os.path.join(ROOT, directory))
        except (renderer.RenderError, OSError, yaml.YAMLError) as e:
            fail(directory, f"render failed: {e}")
            continue
        rendered += len(objects)
        for obj in objects:
            validate_object(obj, directory)
        check_set(directory, objects, autoscaler)
        print(f"  {directory}: {len(objects)} objects ({', '.join(name_of(o) for o in objects)})")
    check_adapter_rules(os.path.join(ROOT, "prometheus-adapter", "rules.yaml"))
    for extra in sorted(os.listdir(os.path.join(ROOT, "optional"))):
        for obj in renderer.load_documents(os.path.join(ROOT, "optional", extra)):
            validate_object(obj, f"optional/{extra}")

    for e in errors:
        print(f"  FAIL {e}")
    print(
        f"manifests: {rendered} rendered objects; {counts['built-in']} validated by kubernetes-validate "
        f"{kubernetes_validate.__version__} against Kubernetes {K8S_VERSION} (strict), "
        f"{counts['custom (own schema)']} custom resources (KEDA ScaledObject, PodMonitor) against this script's own "
        f"structural schemas; {len(errors)} problems"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
