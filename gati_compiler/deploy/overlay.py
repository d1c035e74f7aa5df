"""Read a bundle back as objects, with an environment's overlay applied.

Input: bundle files (relative to `bundle/` → bytes), from a build in memory or from disk.
Output: `file → object`. This applies the subset of kustomize the bundle emits (namespace,
images, RFC 6902 patches by kind and name) so `gatic deploy --dry-run --env E` and the tests
see what `kubectl apply -k overlays/E` would send, without kustomize installed.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

from gati_compiler.deploy.yamlio import load_documents

KUSTOMIZATION: Final = "kustomization.yaml"


class OverlayError(ValueError):
    """A bundle file or overlay this reader cannot apply (hand-edited beyond what gatic emits)."""


def _pointer(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def apply_patch(obj: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    """RFC 6902 `add`, `replace` and `remove` (what overlays use); returns a patched copy."""
    out = copy.deepcopy(obj)
    for op in ops:
        parts = _pointer(op["path"])
        node: Any = out
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        last = parts[-1]
        kind = op["op"]
        if isinstance(node, list):
            index = len(node) if last == "-" else int(last)
            if kind == "add":
                node.insert(index, op["value"])
            elif kind == "replace":
                node[index] = op["value"]
            elif kind == "remove":
                del node[index]
            else:
                raise OverlayError(f"unsupported patch operation `{kind}`")
        elif kind in ("add", "replace"):
            node[last] = op["value"]
        elif kind == "remove":
            del node[last]
        else:
            raise OverlayError(f"unsupported patch operation `{kind}`")
    return out


def _set_image(obj: dict[str, Any], images: list[dict[str, Any]]) -> None:
    containers = obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
    for c in containers:
        ref = c.get("image", "")
        name = ref.split("@", 1)[0]
        slash, colon = name.rfind("/"), name.rfind(":")
        bare = name[:colon] if colon > slash else name
        for img in images:
            if img.get("name") == bare:
                new = img.get("newName", bare)
                if "digest" in img:
                    c["image"] = f"{new}@{img['digest']}"
                else:
                    tag = img.get("newTag", name[colon + 1 :] if colon > slash else "latest")
                    c["image"] = f"{new}:{tag}"


def bundle_objects(files: Mapping[str, bytes], env: str | None = None) -> dict[str, dict[str, Any]]:
    """The objects `kubectl apply -k` would send for the base (`env=None`) or an environment."""
    try:
        base = load_documents(files[KUSTOMIZATION].decode())[0]
    except KeyError:
        raise OverlayError(f"the bundle has no `{KUSTOMIZATION}`") from None
    objs: dict[str, dict[str, Any]] = {}
    for name in base.get("resources", []):
        if name not in files:
            raise OverlayError(f"`{KUSTOMIZATION}` lists `{name}`, which the bundle does not hold")
        for index, doc in enumerate(load_documents(files[name].decode())):
            objs[name if index == 0 else f"{name}#{index}"] = doc
    layers = [base]
    if env is not None:
        key = f"overlays/{env}/{KUSTOMIZATION}"
        if key not in files:
            known = sorted(k.split("/")[1] for k in files if k.startswith("overlays/"))
            raise OverlayError(f"no environment `{env}`; the bundle has: {', '.join(known) or 'none'}")
        layers.append(load_documents(files[key].decode())[0])
    for layer in layers:
        for patch in layer.get("patches", []):
            target = patch.get("target", {})
            ops = load_documents(patch["patch"])[0] if isinstance(patch.get("patch"), str) else patch.get("patch")
            for name, obj in objs.items():
                if obj.get("kind") == target.get("kind") and obj["metadata"]["name"] == target.get("name"):
                    objs[name] = apply_patch(obj, ops)
        for obj in objs.values():
            if layer.get("images"):
                _set_image(obj, layer["images"])
            if layer.get("namespace"):
                obj["metadata"]["namespace"] = layer["namespace"]
    return objs
