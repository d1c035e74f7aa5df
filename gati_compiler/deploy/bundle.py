"""The deploy bundle: `.gati/bundle/` as artifacts (relative path → bytes).

Input: the `Program`, the config, the live versions and the manifest artifacts already rendered.
Output: a Dockerfile, one YAML file per Kubernetes object, `kustomization.yaml` with an overlay
per environment, and `index.json` with the digest of every other bundle file. Pure.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Final

from pydantic import JsonValue

from gati_compiler.canonical import canonical_bytes, sha256_digest
from gati_compiler.config import DeployOverlay, GatiConfig
from gati_compiler.deploy import objects as k8s
from gati_compiler.deploy.model import LiveVersion, VersionGroup, version_groups
from gati_compiler.deploy.objects import Obj
from gati_compiler.deploy.yamlio import dump_string_map_last, dump_yaml
from gati_compiler.ir.models import Program
from gati_compiler.version import __version__

BUNDLE: Final = "bundle"
INDEX: Final = f"{BUNDLE}/index.json"
TEMPLATE: Final = "deploy/Dockerfile.j2"
KUSTOMIZATION: Final = "kustomization.yaml"
_MANIFEST_PREFIXES: Final = ("handlers/", "modules/")


def build_objects(
    program: Program,
    cfg: GatiConfig,
    groups: tuple[VersionGroup, ...],
    manifests: Mapping[str, bytes],
) -> dict[str, Obj]:
    """Every Kubernetes object of the base bundle, keyed by its file name in `bundle/`."""
    t = k8s.base_target(cfg)
    maps = k8s.config_maps(t, manifests)
    build_digest = sha256_digest(b"".join(canonical_bytes(cm["data"]) for cm in maps))
    objs: dict[str, Obj] = {
        "serviceaccount.yaml": k8s.service_account(t),
        "service.yaml": k8s.service(t, None),
        "networkpolicy.yaml": k8s.network_policy(program, cfg, t),
        "httproute.yaml": k8s.http_route(cfg, t, groups),
    }
    for index, cm in enumerate(maps, start=1):
        objs["configmap.yaml" if index == 1 else f"configmap-{index}.yaml"] = cm
    for ing in k8s.ingresses(cfg, t, groups):
        suffix = "" if ing["metadata"]["name"] == t.app else "-" + ing["metadata"]["name"].removeprefix(t.app + "-")
        objs[f"ingress{suffix}.yaml"] = ing
    for g in groups:
        objs[f"deployment-{g.slug}.yaml"] = k8s.deployment(program, cfg, t, g, build_digest)
        objs[f"service-{g.slug}.yaml"] = k8s.service(t, g)
        objs[f"pdb-{g.slug}.yaml"] = k8s.pdb(t, g)
        if t.replicas > 0:
            objs[f"hpa-{g.slug}.yaml"] = k8s.hpa(cfg, t, g)
    return dict(sorted(objs.items()))


def overlay_patches(cfg: GatiConfig, groups: tuple[VersionGroup, ...], overlay: DeployOverlay) -> list[Obj]:
    """JSON patches (RFC 6902, `add` replaces) an environment applies to the base objects."""
    t = k8s.base_target(cfg)
    replicas = overlay.replicas if overlay.replicas is not None else t.replicas
    max_replicas = k8s.hpa_max(cfg, replicas, overlay.max_replicas if overlay.max_replicas else cfg.deploy.max_replicas)
    container = "/spec/template/spec/containers/0"
    dep_ops: list[Obj] = []
    if overlay.replicas is not None:
        dep_ops.append({"op": "add", "path": "/spec/replicas", "value": replicas})
    for field, path in (
        ("cpu_request", "requests/cpu"),
        ("memory_request", "requests/memory"),
        ("cpu_limit", "limits/cpu"),
        ("memory_limit", "limits/memory"),
    ):
        value = getattr(overlay, field)
        if value is not None:
            dep_ops.append({"op": "add", "path": f"{container}/resources/{path}", "value": value})
    patches: list[Obj] = []
    for g in groups:
        name = k8s.group_name(t, g)
        if dep_ops:
            patches.append({"target": {"kind": "Deployment", "name": name}, "patch": dep_ops})
        if t.replicas > 0 and (overlay.replicas is not None or overlay.max_replicas is not None):
            ops = [
                {"op": "add", "path": "/spec/minReplicas", "value": max(replicas, 1)},
                {"op": "add", "path": "/spec/maxReplicas", "value": max_replicas},
            ]
            patches.append({"target": {"kind": "HorizontalPodAutoscaler", "name": name}, "patch": ops})
        if overlay.replicas is not None and (replicas > 1) != (t.replicas > 1):
            budget = {"minAvailable": 1} if replicas > 1 else {"maxUnavailable": 1}
            ops = [{"op": "add", "path": "/spec", "value": {**budget, "selector": k8s.pdb(t, g)["spec"]["selector"]}}]
            patches.append({"target": {"kind": "PodDisruptionBudget", "name": name}, "patch": ops})
    if overlay.host is not None:
        for ing in k8s.ingresses(cfg, t, groups):
            ops = [{"op": "add", "path": "/spec/rules/0/host", "value": overlay.host}]
            patches.append({"target": {"kind": "Ingress", "name": ing["metadata"]["name"]}, "patch": ops})
        ops = [{"op": "add", "path": "/spec/hostnames", "value": [overlay.host]}]
        patches.append({"target": {"kind": "HTTPRoute", "name": t.app}, "patch": ops})
    return patches


def _image_parts(image: str) -> tuple[str, str | None, str | None]:
    """`registry/name:tag@sha256:...` → (name, tag, digest)."""
    digest = None
    if "@" in image:
        image, digest = image.split("@", 1)
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon + 1 :], digest
    return image, None, digest


def _kustomization(resources: list[str], namespace: str | None) -> Obj:
    k: Obj = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
    if namespace is not None:
        k["namespace"] = namespace
    k["resources"] = resources
    return k


def overlay_kustomization(cfg: GatiConfig, groups: tuple[VersionGroup, ...], overlay: DeployOverlay) -> Obj:
    k = _kustomization(["../.."], overlay.namespace)
    if overlay.image is not None:
        base_name, _, _ = _image_parts(cfg.deploy.image or f"{cfg.name.lower()}:latest")
        new_name, tag, digest = _image_parts(overlay.image)
        image: Obj = {"name": base_name, "newName": new_name}
        if digest is not None:
            image["digest"] = digest
        elif tag is not None:
            image["newTag"] = tag
        k["images"] = [image]
    patches = overlay_patches(cfg, groups, overlay)
    if patches:
        k["patches"] = [{"target": p["target"], "patch": dump_yaml(p["patch"])} for p in patches]
    return k


def _copies(program: Program, cfg: GatiConfig) -> list[dict[str, str]]:
    """What the image copies of the app's sources, at the same place under `/app` as in the
    project (the runtime finds them through `manifest.json`'s `projectRoot` and `sourceRoots`):
    the top-level package (or module) of every handler, module and hook file, and the loose
    `*.py` of a source root holding one of them."""
    files = {h.source.file for h in program.handlers}
    files |= {m.source.file for m in program.modules}
    files |= {hk.source.file for hk in program.globalHooks}
    roots = sorted((posixpath.normpath(r) for r in cfg.sources), key=len, reverse=True)
    copies: dict[str, str] = {}
    for f in sorted(files):
        root = next((r for r in roots if r == "." or f.startswith(r + "/")), ".")
        rel = f if root == "." else f[len(root) + 1 :]
        top = rel.split("/", 1)[0]
        base = "" if root == "." else root + "/"
        if "/" in rel:
            copies[f"{base}{top}/"] = f"/app/{base}{top}/"
        else:
            copies[f"{base}*.py"] = f"/app/{base}"
    return [{"source": s, "target": t} for s, t in sorted(copies.items())]


def dockerfile(program: Program, cfg: GatiConfig) -> bytes:
    from gati_compiler.emit.render import make_environment

    text = (
        make_environment()
        .get_template(TEMPLATE)
        .render(
            header=f"Generated by gatic {__version__} from the `{program.app}` sources; do not edit.",
            out=cfg.out.strip("/"),
            image=cfg.deploy.image or f"{cfg.name.lower()}:latest",
            base_image=cfg.deploy.base_image,
            pyproject=cfg.config_file if cfg.config_file == "pyproject.toml" else "pyproject.toml",
            runtime_requirement=f"gati=={__version__}",
            uid=k8s.RUN_AS,
            copies=_copies(program, cfg),
            port=cfg.deploy.port,
            workers=cfg.deploy.workers,
            health=k8s.HEALTH_PATH,
        )
    )
    return text.encode()


def _dockerignore(cfg: GatiConfig) -> bytes:
    lines = ["**/__pycache__", "**/*.py[cod]", ".venv", ".git", "node_modules", f"{cfg.out.strip('/')}/bundle"]
    lines += [e for e in cfg.exclude]
    return ("\n".join(lines) + "\n").encode()


def emit_bundle(
    program: Program,
    cfg: GatiConfig,
    artifacts: Mapping[str, bytes],
    versions: tuple[LiveVersion, ...] = (),
) -> dict[str, bytes]:
    """The whole bundle. `artifacts`: the build's other artifacts (the ConfigMap holds the
    handler and module manifests and `gtypes.json`). `versions`: the live versions from the lock;
    none means one group for the current build."""
    groups = version_groups(program, versions)
    manifests = {p: b for p, b in artifacts.items() if p.startswith(_MANIFEST_PREFIXES) or p == "gtypes.json"}
    objs = build_objects(program, cfg, groups, manifests)
    files: dict[str, bytes] = {
        name: (dump_string_map_last(obj, "data") if obj["kind"] == "ConfigMap" else dump_yaml(obj)).encode()
        for name, obj in objs.items()
    }
    files[KUSTOMIZATION] = dump_yaml(_kustomization(list(objs), cfg.deploy.namespace)).encode()
    for env, overlay in sorted(cfg.deploy.environments.items()):
        files[f"overlays/{env}/{KUSTOMIZATION}"] = dump_yaml(overlay_kustomization(cfg, groups, overlay)).encode()
    files["Dockerfile"] = dockerfile(program, cfg)
    files["Dockerfile.dockerignore"] = _dockerignore(cfg)
    out = {f"{BUNDLE}/{name}": data for name, data in sorted(files.items())}
    index: dict[str, JsonValue] = {
        "app": program.app,
        "groups": [
            {"slug": g.slug, "versions": [v.tsv for v in g.versions], "handlerSet": g.handler_set} for g in groups
        ],
        "files": {name.removeprefix(BUNDLE + "/"): sha256_digest(data) for name, data in out.items()},
    }
    out[INDEX] = canonical_bytes(index)
    return out
