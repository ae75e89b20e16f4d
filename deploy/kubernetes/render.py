#!/usr/bin/env python3
"""Render a kustomization with kustomize's semantics, and validate it offline.

    python deploy/kubernetes/render.py [--validate] deploy/kubernetes/overlays/example

No Python kustomize renderer on PyPI fits (``kustomize`` builds manifests from
Python classes, ``pykustomize`` needs Python 3.14, wrappers fetch the Go binary,
which CI cannot). `kubectl kustomize` renders the same folders; apply with it.

The subset of kustomize (v5, https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/)
implemented, and nothing else (any other field is an error, not ignored):

- ``resources``: YAML files (several documents each) and directories holding a
  ``kustomization.yaml``, rendered first, recursively.
- ``patches``: inline (``patch: |-``), with an optional ``target`` (group,
  version, kind, name and namespace as anchored regular expressions,
  labelSelector and annotationSelector as ``key=value,...``). A patch that is a
  YAML list is a JSON 6902 patch (add, remove, replace, move, copy, test; RFC
  6901 pointers), which needs a target; otherwise it is a strategic merge patch
  (maps merge, ``null`` deletes, ``$patch: replace`` in maps and ``delete`` in
  lists; lists merge by Kubernetes' patchMergeKey for containers,
  initContainers, env, volumes, volumeMounts, ports and imagePullSecrets and
  are replaced otherwise),
  applied to its target or, without one, to the object of its kind and name.
  A patch that matches no object is an error here (kustomize skips a target
  that selects nothing).
- ``namespace``: set on every namespaced object.
- ``labels``: ``pairs`` added to metadata.labels; ``includeTemplates`` also to
  pod templates; ``includeSelectors`` also to selectors (Service,
  workloads, PodDisruptionBudget, NetworkPolicy podSelector).
- ``images``: ``name`` matched against containers' and initContainers' images,
  replaced by ``newName``, ``newTag`` or ``digest``.
- ``replicas``: ``name`` and ``count`` for Deployments, StatefulSets and
  ReplicaSets.

Order, as kustomize: resources, then patches, namespace, labels, replicas and
images; output in kustomize's default ("legacy") kind order.

``--validate`` checks every resource file as read and every rendered object
against the Kubernetes JSON schemas shipped in ``kubernetes-validate`` (strict:
unknown fields fail; a kind without a schema fails too).
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

KUBERNETES_VERSION = "1.30"

Object = dict[str, Any]

# fmt: off
KNOWN_FIELDS = {
    "apiVersion", "kind", "resources", "patches", "namespace", "labels", "images",
    "replicas",
}
CLUSTER_SCOPED = {
    "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "IngressClass", "PersistentVolume", "PriorityClass", "StorageClass",
    "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
# Kubernetes' patchMergeKey of the list fields a patch here may merge.
MERGE_KEYS = {
    "containers": ("name",), "initContainers": ("name",), "env": ("name",),
    "volumes": ("name",), "volumeMounts": ("mountPath",),
    "imagePullSecrets": ("name",), "ports": ("containerPort", "port"),
}
# kustomize's legacy order: these kinds first, in this order, ...
ORDER_FIRST = [
    "Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition",
    "ServiceAccount", "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding",
    "ClusterRoleBinding", "ConfigMap", "Secret", "Endpoints", "Service",
    "LimitRange", "PriorityClass", "PersistentVolume", "PersistentVolumeClaim",
    "Deployment", "StatefulSet", "CronJob", "PodDisruptionBudget",
]
# fmt: on
ORDER_LAST = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]


class RenderError(Exception):
    """The kustomization uses something this renderer does not do, or is wrong."""


def load_documents(path: Path) -> list[Object]:
    with path.open(encoding="utf-8") as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc]


def render(
    directory: Path, on_file: Callable[[Path, Object], None] | None = None
) -> list[Object]:
    """The objects ``kustomize build directory`` gives, in its output order."""
    return sorted(_build(Path(directory), on_file, ()), key=_order)


def _build(
    directory: Path,
    on_file: Callable[[Path, Object], None] | None,
    seen: tuple[Path, ...],
) -> list[Object]:
    directory = directory.resolve()
    if directory in seen:
        raise RenderError(f"{directory}: kustomizations include each other")
    kustomization = _kustomization(directory)
    objects: list[Object] = []
    for entry in kustomization.get("resources", []):
        objects += _resource((directory / entry).resolve(), on_file, (*seen, directory))
    for entry in kustomization.get("patches", []):
        _apply_patch(objects, entry, directory)
    if "namespace" in kustomization:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = kustomization["namespace"]
    for entry in kustomization.get("labels", []):
        _add_labels(objects, entry)
    for entry in kustomization.get("replicas", []):
        _set_replicas(objects, entry)
    for entry in kustomization.get("images", []):
        for obj in objects:
            _set_images(obj, entry)
    return objects


def _resource(
    path: Path,
    on_file: Callable[[Path, Object], None] | None,
    seen: tuple[Path, ...],
) -> list[Object]:
    if path.is_dir():
        return _build(path, on_file, seen)
    objects = load_documents(path)
    if on_file is not None:
        for obj in objects:
            on_file(path, obj)
    return objects


def _kustomization(directory: Path) -> Object:
    path = directory / "kustomization.yaml"
    if not path.is_file():
        raise RenderError(f"{directory}: no kustomization.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    unknown = set(data) - KNOWN_FIELDS
    if unknown:
        raise RenderError(f"{path}: not implemented here: {', '.join(sorted(unknown))}")
    return data


def _order(obj: Object) -> tuple[int, str, str, str]:
    kind, metadata = obj["kind"], obj["metadata"]
    first = ORDER_FIRST.index(kind) if kind in ORDER_FIRST else len(ORDER_FIRST)
    rank = first + (kind in ORDER_LAST)
    return rank, kind, metadata.get("namespace", ""), metadata["name"]


# --- Patches ------------------------------------------------------------------


def _apply_patch(objects: list[Object], entry: Object, directory: Path) -> None:
    unknown = set(entry) - {"patch", "target"}
    if unknown:
        raise RenderError(
            f"{directory}: patch fields not implemented: {sorted(unknown)}"
        )
    patch = yaml.safe_load(entry["patch"])
    target = entry.get("target")
    if isinstance(patch, list):
        if target is None:
            raise RenderError(f"{directory}: a JSON 6902 patch needs a target")
        matched = [obj for obj in objects if _selected(obj, target)]
        for obj in matched:
            _json6902(obj, patch)
    else:
        if target is not None:
            matched = [obj for obj in objects if _selected(obj, target)]
        else:
            matched = [obj for obj in objects if _same_object(obj, patch)]
        for obj in matched:
            merged = _strategic_merge(obj, patch)
            obj.clear()
            obj.update(merged)
    if not matched:
        raise RenderError(f"{directory}: a patch matches no object: {target or patch}")


def _selected(obj: Object, target: Object) -> bool:
    group, _, version = obj["apiVersion"].rpartition("/")
    metadata = obj["metadata"]
    checks = {
        "group": group,
        "version": version,
        "kind": obj["kind"],
        "name": metadata["name"],
        "namespace": metadata.get("namespace", ""),
    }
    for field, value in checks.items():
        if field in target and not re.fullmatch(target[field], value):
            return False
    for field, where in (
        ("labelSelector", "labels"),
        ("annotationSelector", "annotations"),
    ):
        if field in target and not _matches(target[field], metadata.get(where) or {}):
            return False
    unknown = set(target) - set(checks) - {"labelSelector", "annotationSelector"}
    if unknown:
        raise RenderError(f"target fields not implemented: {sorted(unknown)}")
    return True


def _matches(selector: str, values: dict[str, str]) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        key, equals, value = term.partition("=")
        if not equals:
            raise RenderError(f"only key=value selectors are implemented: {term}")
        if values.get(key.strip()) != value.strip().lstrip("="):
            return False
    return True


def _same_object(obj: Object, patch: Object) -> bool:
    wanted, metadata = patch.get("metadata", {}), obj["metadata"]
    namespace = wanted.get("namespace", metadata.get("namespace"))
    return (obj["kind"], metadata["name"], metadata.get("namespace")) == (
        patch.get("kind"),
        wanted.get("name"),
        namespace,
    )


def _strategic_merge(base: Any, patch: Any, field: str = "") -> Any:
    if isinstance(patch, dict) and isinstance(base, dict):
        directive = patch.get("$patch")
        if directive == "replace":
            return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
        if directive not in (None, "merge"):
            raise RenderError(f"$patch: {directive} is only implemented in lists")
        merged = copy.deepcopy(base)
        for key, value in patch.items():
            if key == "$patch":
                continue
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = _strategic_merge(merged[key], value, key)
            else:
                merged[key] = _without_directives(value)
        return merged
    if isinstance(patch, list) and isinstance(base, list) and field in MERGE_KEYS:
        return _merge_list(base, patch, field)
    return _without_directives(patch)


def _merge_list(base: list[Any], patch: list[Any], field: str) -> list[Any]:
    merged = copy.deepcopy(base)
    for item in patch:
        key = next(
            (k for k in MERGE_KEYS[field] if isinstance(item, dict) and k in item), None
        )
        if key is None:
            raise RenderError(
                f"an item of {field} lacks its merge key {MERGE_KEYS[field]}"
            )
        same = [i for i, old in enumerate(merged) if old.get(key) == item[key]]
        index = same[0] if same else None
        if item.get("$patch") == "delete":
            if index is not None:
                del merged[index]
        elif index is None:
            merged.append(_without_directives(item))
        else:
            merged[index] = _strategic_merge(merged[index], item, field)
    return merged


def _without_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_directives(v) for k, v in value.items() if k != "$patch"}
    if isinstance(value, list):
        return [_without_directives(v) for v in value]
    return copy.deepcopy(value)


def _json6902(obj: Object, operations: Iterable[Object]) -> None:
    for operation in operations:
        op, path = operation["op"], operation["path"]
        if op == "add":
            _pointer_add(obj, path, copy.deepcopy(operation["value"]))
        elif op == "remove":
            _pointer_remove(obj, path)
        elif op == "replace":
            _pointer_get(obj, path)  # it must exist
            _pointer_remove(obj, path)
            _pointer_add(obj, path, copy.deepcopy(operation["value"]))
        elif op in ("move", "copy"):
            value = copy.deepcopy(_pointer_get(obj, operation["from"]))
            if op == "move":
                _pointer_remove(obj, operation["from"])
            _pointer_add(obj, path, value)
        elif op == "test":
            if _pointer_get(obj, path) != operation["value"]:
                raise RenderError(f"test failed at {path}")
        else:
            raise RenderError(f"unknown JSON patch operation {op}")


def _tokens(pointer: str) -> list[str]:
    if not pointer.startswith("/"):
        raise RenderError(f"a JSON pointer starts with /: {pointer}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _step(node: Any, token: str, pointer: str) -> Any:
    try:
        return node[int(token)] if isinstance(node, list) else node[token]
    except (KeyError, IndexError, ValueError, TypeError):
        raise RenderError(f"no such path: {pointer}") from None


def _pointer_get(obj: Object, pointer: str) -> Any:
    node: Any = obj
    for token in _tokens(pointer):
        node = _step(node, token, pointer)
    return node


def _parent(obj: Object, pointer: str) -> tuple[Any, str]:
    tokens = _tokens(pointer)
    node: Any = obj
    for token in tokens[:-1]:
        node = _step(node, token, pointer)
    return node, tokens[-1]


def _pointer_add(obj: Object, pointer: str, value: Any) -> None:
    parent, last = _parent(obj, pointer)
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if not 0 <= index <= len(parent):
            raise RenderError(f"no such index: {pointer}")
        parent.insert(index, value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise RenderError(f"no such path: {pointer}")


def _pointer_remove(obj: Object, pointer: str) -> None:
    parent, last = _parent(obj, pointer)
    _step(parent, last, pointer)
    if isinstance(parent, list):
        del parent[int(last)]
    else:
        del parent[last]


# --- Transformers ---------------------------------------------------------------


def _add_labels(objects: list[Object], entry: Object) -> None:
    unknown = set(entry) - {"pairs", "includeSelectors", "includeTemplates"}
    if unknown:
        raise RenderError(f"labels fields not implemented: {sorted(unknown)}")
    pairs = {str(k): str(v) for k, v in entry["pairs"].items()}
    selectors = bool(entry.get("includeSelectors", False))
    templates = selectors or bool(entry.get("includeTemplates", False))
    for obj in objects:
        kind, spec = obj["kind"], obj.get("spec", {})
        obj["metadata"].setdefault("labels", {}).update(pairs)
        if templates and kind in WORKLOADS:
            spec["template"].setdefault("metadata", {}).setdefault("labels", {}).update(
                pairs
            )
        if templates and kind == "CronJob":
            template = spec["jobTemplate"]["spec"]["template"]
            template.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
        if not selectors:
            continue
        if kind == "Service":
            spec.setdefault("selector", {}).update(pairs)
        elif kind in WORKLOADS - {"Job"} or (
            kind == "PodDisruptionBudget" and "selector" in spec
        ):
            spec.setdefault("selector", {}).setdefault("matchLabels", {}).update(pairs)
        elif kind == "NetworkPolicy":
            spec.setdefault("podSelector", {}).setdefault("matchLabels", {}).update(
                pairs
            )


def _set_replicas(objects: list[Object], entry: Object) -> None:
    matched = [
        obj
        for obj in objects
        if obj["kind"] in {"Deployment", "StatefulSet", "ReplicaSet"}
        and obj["metadata"]["name"] == entry["name"]
    ]
    if not matched:
        raise RenderError(f"replicas: no workload named {entry['name']}")
    for obj in matched:
        obj["spec"]["replicas"] = int(entry["count"])


def _split_image(image: str) -> tuple[str, str, str]:
    """(name, ':tag' or '', '@digest' or '') of an image reference."""
    name, at, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = ""
    if colon > slash:
        name, tag = name[:colon], name[colon:]
    return name, tag, at + digest


def _set_images(node: Any, entry: Object) -> None:
    if isinstance(node, list):
        for item in node:
            _set_images(item, entry)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in ("containers", "initContainers") and isinstance(value, list):
            for container in value:
                name, tag, digest = _split_image(container.get("image", ""))
                if name != entry["name"]:
                    continue
                name = entry.get("newName", name)
                if "digest" in entry:
                    tag, digest = "", "@" + entry["digest"]
                elif "newTag" in entry:
                    tag, digest = ":" + str(entry["newTag"]), ""
                container["image"] = name + tag + digest
        else:
            _set_images(value, entry)


# --- Validation and the command line ---------------------------------------------


def validation_errors(
    obj: Object, where: str, version: str = KUBERNETES_VERSION
) -> list[str]:
    """Why an object fails the Kubernetes schemas (empty: it validates)."""
    import kubernetes_validate  # a dev dependency: rendering works without it
    from kubernetes_validate.utils import SchemaNotFoundError

    name = f"{where}: {obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(p) for p in error.path)
        return [f"{name}: {path}: {error.message}"]
    except SchemaNotFoundError as error:
        return [f"{name}: {error.message}"]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "directory", type=Path, help="a folder with a kustomization.yaml"
    )
    parser.add_argument(
        "--validate",
        action="store_true",
        help="validate every resource file and the rendered objects",
    )
    parser.add_argument("--kubernetes-version", default=KUBERNETES_VERSION)
    args = parser.parse_args(argv)
    errors: list[str] = []

    def check_file(path: Path, obj: Object) -> None:
        errors.extend(validation_errors(obj, str(path), args.kubernetes_version))

    try:
        objects = render(args.directory, check_file if args.validate else None)
    except (RenderError, OSError, yaml.YAMLError) as failure:
        print(f"render.py: {failure}", file=sys.stderr)
        return 2
    if args.validate:
        for obj in objects:
            errors += validation_errors(obj, "rendered", args.kubernetes_version)
    for message in errors:
        print(message, file=sys.stderr)
    sys.stdout.write(yaml.safe_dump_all(objects, sort_keys=False, width=1000))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
