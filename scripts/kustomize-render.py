#!/usr/bin/env python3
"""scripts/kustomize-render.py DIR — render a kustomization offline, without the kustomize binary.

Renders exactly the subset of kustomize that deploy/kubernetes/ uses, and refuses anything else
(an unknown field is an error, never silently skipped), so the offline validation in
scripts/test-manifests.sh checks what `kubectl apply -k` would apply:

  resources   files (one or more YAML documents) and directories holding a kustomization.yaml,
              rendered recursively, in order
  namespace   set on every namespaced object (cluster-scoped kinds and the Namespace keep theirs)
  images      `name` → `newName` / `newTag` / `digest` on every container and initContainer of
              a pod template (Deployment, StatefulSet, DaemonSet, Job, CronJob)
  patches     `path:` files holding a strategic-merge `$patch: delete` of one object (matched by
              apiVersion group, kind and name); other patch forms are refused

Prints the rendered objects as a multi-document YAML stream (or, with --json, one JSON array).
Needs PyYAML.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import yaml

KNOWN_FIELDS = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "APIService",
}


class RenderError(Exception):
    pass


def load_documents(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        documents = [d for d in yaml.safe_load_all(f) if d is not None]
    for d in documents:
        if not isinstance(d, dict) or "kind" not in d or "apiVersion" not in d:
            raise RenderError(f"{path}: every document must be an object with apiVersion and kind")
    return documents


def kustomization_file(directory: str) -> str:
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate):
            return candidate
    raise RenderError(f"{directory}: no kustomization.yaml")


def pod_specs(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj.get("spec") or {}
    kind = obj.get("kind")
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return [((spec.get("template") or {}).get("spec")) or {}]
    if kind == "CronJob":
        return [(((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec") or {}]
    if kind == "Pod":
        return [spec]
    return []


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """name, tag, digest of an image reference (a registry port's colon is not a tag)."""
    digest = None
    if "@" in image:
        image, digest = image.split("@", 1)
    tag = None
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        image, tag = image.rsplit(":", 1)
    return image, tag, digest


def apply_images(objects: list[dict[str, Any]], images: list[dict[str, Any]], where: str) -> None:
    for rule in images:
        if not isinstance(rule, dict) or "name" not in rule:
            raise RenderError(f"{where}: every images entry needs a name")
        unknown = set(rule) - {"name", "newName", "newTag", "digest"}
        if unknown:
            raise RenderError(f"{where}: images entry {rule['name']!r}: unsupported fields {sorted(unknown)}")
        used = False
        for obj in objects:
            for pod in pod_specs(obj):
                for container in (pod.get("containers") or []) + (pod.get("initContainers") or []):
                    name, tag, digest = split_image(str(container.get("image", "")))
                    if name != rule["name"]:
                        continue
                    used = True
                    name = str(rule.get("newName", name))
                    if "newTag" in rule:
                        tag = str(rule["newTag"])
                    if "digest" in rule:
                        digest, tag = str(rule["digest"]), None
                    container["image"] = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
        if not used:
            raise RenderError(f"{where}: images entry {rule['name']!r} matches no container")


def group_of(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def apply_patch(objects: list[dict[str, Any]], patch_path: str, where: str) -> list[dict[str, Any]]:
    patch_documents = load_documents(patch_path)
    for patch in patch_documents:
        if patch.get("$patch") != "delete":
            raise RenderError(f"{patch_path}: only `$patch: delete` patches are supported by this renderer")
        name = (patch.get("metadata") or {}).get("name")
        matches = [
            o
            for o in objects
            if o["kind"] == patch["kind"]
            and group_of(o["apiVersion"]) == group_of(patch["apiVersion"])
            and (o.get("metadata") or {}).get("name") == name
        ]
        if len(matches) != 1:
            raise RenderError(f"{where}: patch {patch_path} matches {len(matches)} objects, not one")
        objects = [o for o in objects if o is not matches[0]]
    return objects


def render(directory: str) -> list[dict[str, Any]]:
    path = kustomization_file(directory)
    with open(path, encoding="utf-8") as f:
        k = yaml.safe_load(f) or {}
    unknown = set(k) - KNOWN_FIELDS
    if unknown:
        raise RenderError(f"{path}: fields this renderer does not implement: {sorted(unknown)}")
    if k.get("kind", "Kustomization") != "Kustomization":
        raise RenderError(f"{path}: kind must be Kustomization")

    objects: list[dict[str, Any]] = []
    for resource in k.get("resources") or []:
        target = os.path.normpath(os.path.join(directory, resource))
        if os.path.isdir(target):
            objects += render(target)
        elif os.path.isfile(target):
            objects += load_documents(target)
        else:
            raise RenderError(f"{path}: resource {resource!r} is neither a file nor a directory (remote bases are not supported)")

    for entry in k.get("patches") or []:
        if not isinstance(entry, dict) or set(entry) != {"path"}:
            raise RenderError(f"{path}: only `- path: FILE` patches are supported")
        objects = apply_patch(objects, os.path.join(directory, entry["path"]), path)

    namespace = k.get("namespace")
    if namespace:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj.setdefault("metadata", {})["namespace"] = namespace

    apply_images(objects, k.get("images") or [], path)

    seen: set[tuple[str, str, str, str]] = set()
    for obj in objects:
        meta = obj.get("metadata") or {}
        key = (group_of(obj["apiVersion"]), obj["kind"], meta.get("namespace", ""), meta.get("name", ""))
        if key in seen:
            raise RenderError(f"{path}: {obj['kind']} {meta.get('name')!r} is defined twice")
        seen.add(key)
    return objects


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--json"]
    if len(args) != 1:
        print("usage: kustomize-render.py [--json] DIR", file=sys.stderr)
        return 2
    try:
        objects = render(args[0])
    except (RenderError, OSError, yaml.YAMLError) as e:
        print(f"kustomize-render: {e}", file=sys.stderr)
        return 1
    if "--json" in argv:
        json.dump(objects, sys.stdout, indent=1)
        print()
    else:
        yaml.safe_dump_all(objects, sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
