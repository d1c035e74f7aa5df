"""Read and check a `.gati/` build once, at start-up, and import what its manifests name.

Everything wrong with the build raises `ManifestError` naming the file: a missing or corrupt JSON
file, an artifact whose digest does not match, an incompatible `irVersion`, a handler or hook that
cannot be imported, or generated validators without a codec for a handler. The files are read by
`artifacts`; the older versions a build serves (Timescape) are loaded by `served`.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from gati_runtime_min.artifacts import (
    check_artifacts,
    import_ref,
    load_validators,
    need,
    put_source_roots_on_path,
    read_json,
)
from gati_runtime_min.errors import ManifestError
from gati_runtime_min.served import ServedVersion, load_serving
from gati_runtime_min.stamps import ArtifactCache, still_current

SUPPORTED_IR_VERSIONS: Final = frozenset({1})
_counter = itertools.count()


@dataclass(frozen=True, slots=True)
class HookSpec:
    id: str
    kind: str
    fn: Callable[..., Any]
    is_async: bool
    timeout: float | None
    retries: int
    scope: str


@dataclass(frozen=True, slots=True)
class RouteSpec:
    handler_id: str
    method: str
    path: str
    fn: Callable[..., Any]
    is_async: bool
    status: int
    codec: Any
    has_request: bool
    has_response: bool
    roles: tuple[str, ...]
    rate_limit: tuple[int, float] | None
    timeout: float | None
    modules: frozenset[str]
    before: tuple[HookSpec, ...]
    after: tuple[HookSpec, ...]
    catch: tuple[HookSpec, ...]
    manifest: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """The call policy of one module method, from its manifest (`@method(...)` or the module's
    defaults): seconds per call (None: no limit), retries (0 unless idempotent), idempotent."""

    timeout: float | None = None
    retries: int = 0
    idempotent: bool = False


@dataclass(frozen=True, slots=True)
class ModuleSpec:
    """A module manifest. `runtime` is `python` (`cls` is the implementation) or `process` (`cls`
    is the typed interface; `command` is the argv, run with the project root as working directory,
    `pool` processes of it). `methods`: every public method's call policy, by name."""

    module_id: str
    cls: type[Any]
    capabilities: tuple[str, ...]
    egress: tuple[str, ...]
    manifest: Mapping[str, Any] = field(repr=False)
    runtime: str = "python"
    command: tuple[str, ...] = ()
    pool: int = 1
    methods: Mapping[str, MethodSpec] = field(default_factory=dict)


def _module_fields(m: Any, mf: str) -> dict[str, Any]:
    """`runtime`, `command`, `pool` and `methods` of a module manifest, checked."""
    runtime = m.get("runtime", "python")
    if runtime not in ("python", "process"):
        raise ManifestError(mf, f"unknown module runtime {runtime!r}")
    command = m.get("command") or []
    if not isinstance(command, list) or not all(isinstance(a, str) for a in command):
        raise ManifestError(mf, "key 'command' must be a list of strings")
    if runtime == "process" and not command:
        raise ManifestError(mf, "a process module needs a 'command'")
    pool = m.get("pool", 1)
    if isinstance(pool, bool) or not isinstance(pool, int) or pool < 1:
        raise ManifestError(mf, f"key 'pool' must be an integer of at least 1, got {pool!r}")
    methods: dict[str, MethodSpec] = {}
    for meth in m.get("methods") or ():
        timeout = meth.get("timeout") if isinstance(meth, dict) else None
        methods[need(meth, "name", str, mf)] = MethodSpec(
            timeout=float(timeout) if isinstance(timeout, int | float) and not isinstance(timeout, bool) else None,
            retries=int(meth.get("retries") or 0),
            idempotent=meth.get("idempotent") is True,
        )
    return {"runtime": runtime, "command": tuple(command), "pool": pool, "methods": methods}


@dataclass(frozen=True, slots=True)
class Build:
    build_dir: Path
    app: str
    manifest: Mapping[str, Any]
    manifest_hash: str
    routes: tuple[RouteSpec, ...]
    modules: tuple[ModuleSpec, ...]
    global_hooks: tuple[HookSpec, ...]
    settings: Mapping[str, Any]
    gtypes: Mapping[str, Any]
    validators: ModuleType
    project_root: Path
    serving: Mapping[tuple[str, str], ServedVersion] = field(default_factory=dict)
    serving_current: str | None = None  # `serving.json`'s `current` (None: the working tree is unrecorded)
    has_serving: bool = False
    # typed pub/sub topics (`topics.json`): name -> the `Topic` declared in the sources, its check attached
    topics: Mapping[str, Any] = field(default_factory=dict)


def _hook(raw: Any, file: str) -> HookSpec:
    mod = need(raw, "module", str, file)
    fn = import_ref(mod, need(raw, "function", str, file), file)
    return HookSpec(
        id=str(raw.get("id") or f"{mod}:{raw['function']}"),
        kind=need(raw, "kind", str, file),
        fn=fn,
        is_async=inspect.iscoroutinefunction(fn),
        timeout=raw.get("timeout"),
        retries=int(raw.get("retries") or 0),
        scope=str(raw.get("scope") or "route"),
    )


def load_build(
    build_dir: str | Path, *, validators: ModuleType | None = None, artifacts: ArtifactCache | None = None
) -> Build:
    """Load and check the build in `build_dir` (the `.gati/` folder) and import its handlers.
    `validators`: the generated validators module already imported from this very file (hot
    swap passes it when `validators/__init__.py` did not change; compiling it is most of a load).
    `artifacts`: what the last load of this folder checked (hot swap): an artifact whose recorded
    digest and file stamp are unchanged is neither hashed nor parsed again (`stamps`)."""
    bdir = Path(build_dir).resolve()

    def read(rel: str) -> Any:
        return read_json(bdir, rel) if artifacts is None else artifacts.read_json(f"{bdir}/{rel}")

    mfile = str(bdir / "manifest.json")
    manifest = read_json(bdir, "manifest.json")
    if not isinstance(manifest, dict):
        raise ManifestError(mfile, "not a JSON object")
    ir_version = need(manifest, "irVersion", int, mfile)
    if ir_version not in SUPPORTED_IR_VERSIONS:
        raise ManifestError(
            mfile, f"irVersion {ir_version} is not supported by this runtime (supports {sorted(SUPPORTED_IR_VERSIONS)})"
        )
    app = need(manifest, "app", str, mfile)
    entries = need(manifest, "handlers", list, mfile)
    check_artifacts(bdir, manifest, artifacts)
    project_root = put_source_roots_on_path(bdir, manifest)
    gtypes = read("gtypes.json") if (bdir / "gtypes.json").exists() else {}
    if validators is None:
        validators = load_validators(bdir)
    codecs: Mapping[str, Any] = validators.HANDLERS
    settings = manifest.get("settings") or {}
    server = settings.get("server") or {}
    global_hooks = tuple(_hook(h, mfile) for h in manifest.get("globalHooks") or ())
    routes: list[RouteSpec] = []
    prior_routes = artifacts.routes if artifacts is not None else {}
    fresh_routes: dict[str, tuple[RouteSpec, Any]] = {}
    for entry in entries:
        rel = need(entry, "file", str, mfile)
        h = read(rel)
        prior = prior_routes.get(rel)
        if prior is not None and prior[1] == server.get("requestTimeout") and still_current(prior[0], h, codecs):
            routes.append(prior[0])
            fresh_routes[rel] = prior
            continue
        hfile = f"{bdir}/{rel}"
        hid = need(h, "handlerId", str, hfile)
        fn = import_ref(need(h, "module", str, hfile), need(h, "function", str, hfile), hfile)
        if hid not in codecs:
            raise ManifestError(str(bdir / "validators" / "__init__.py"), f"no codec for handler {hid!r}; rebuild")
        gt = h.get("gtypes") or {}
        pol = h.get("policies") or {}
        hooks = h.get("hooks") or {}
        rl = pol.get("rateLimit")
        timeout = pol.get("timeout") or server.get("requestTimeout") or 30.0
        routes.append(
            RouteSpec(
                handler_id=hid,
                method=need(h, "method", str, hfile).upper(),
                path=need(h, "path", str, hfile),
                fn=fn,
                is_async=inspect.iscoroutinefunction(fn),
                status=int(h.get("status") or 200),
                codec=codecs[hid],
                has_request=gt.get("request") is not None,
                has_response=gt.get("response") is not None,
                roles=tuple(pol.get("roles") or ()),
                rate_limit=(int(rl["limit"]), float(rl["window"])) if rl else None,
                timeout=float(timeout),
                modules=frozenset((h.get("dependencies") or {}).get("modules") or ()),
                before=tuple(_hook(x, hfile) for x in hooks.get("before") or ()),
                after=tuple(_hook(x, hfile) for x in hooks.get("after") or ()),
                catch=tuple(_hook(x, hfile) for x in hooks.get("catch") or ()),
                manifest=h,
            )
        )
        fresh_routes[rel] = (routes[-1], server.get("requestTimeout"))
    if artifacts is not None:
        artifacts.routes = fresh_routes
    modules: list[ModuleSpec] = []
    for entry in manifest.get("modules") or ():
        rel = need(entry, "file", str, mfile)
        mf = str(bdir / rel)
        m = read(rel)
        cls = import_ref(need(m, "module", str, mf), need(m, "className", str, mf), mf)
        if not isinstance(cls, type):
            raise ManifestError(mf, f"{m['module']}:{m['className']} is not a class")
        modules.append(
            ModuleSpec(
                module_id=need(m, "moduleId", str, mf),
                cls=cls,
                capabilities=tuple(m.get("capabilities") or ()),
                egress=tuple(m.get("egress") or ()),
                manifest=m,
                **_module_fields(m, mf),
            )
        )
    serving, serving_current, has_serving = load_serving(bdir)
    topics = load_topics(bdir, manifest, validators)
    mhash = manifest.get("contentHash") or "sha256:" + hashlib.sha256((bdir / "manifest.json").read_bytes()).hexdigest()
    return Build(
        build_dir=bdir,
        app=app,
        manifest=manifest,
        manifest_hash=str(mhash),
        routes=tuple(routes),
        modules=tuple(modules),
        global_hooks=global_hooks,
        settings=settings,
        gtypes=gtypes,
        validators=validators,
        project_root=project_root,
        serving=serving,
        serving_current=serving_current,
        has_serving=has_serving,
        topics=topics,
    )


def load_topics(bdir: Path, manifest: Mapping[str, Any], validators: ModuleType) -> dict[str, Any]:
    """The typed topics of `topics.json`: each declared `Topic` object gets the generated check of
    its message type (`TOPIC_CHECKS`) and, for messages that crossed Redis as JSON, its decoder."""
    rel = manifest.get("topics")
    if not rel:
        return {}
    from gati_runtime_min.bus import Topic

    tfile = str(bdir / rel)
    raw = read_json(bdir, rel)
    if not isinstance(raw, dict):
        raise ManifestError(tfile, "expected an object of topic name -> declaration")
    checks: Mapping[str, Any] = getattr(validators, "TOPIC_CHECKS", {})
    decoders: Mapping[str, Any] = getattr(validators, "TOPIC_DECODERS", {})
    out: dict[str, Any] = {}
    for name, entry in sorted(raw.items()):
        module = need(entry, "module", str, tfile)
        variable = need(entry, "variable", str, tfile)
        try:
            obj = getattr(importlib.import_module(module), variable, None)
        except Exception as exc:
            raise ManifestError(tfile, f"cannot import module {module!r}: {type(exc).__name__}: {exc}") from exc
        if not isinstance(obj, Topic) or obj.name != name:
            raise ManifestError(tfile, f"{module}:{variable} is not the topic {name!r}; rebuild")
        if name not in checks:
            raise ManifestError(str(bdir / "validators" / "__init__.py"), f"no check for topic {name!r}; rebuild")
        obj.check = checks[name]
        obj.decode = decoders.get(name)
        out[name] = obj
    return out
