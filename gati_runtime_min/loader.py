"""Read and check a `.gati/` build once, at start-up, and import what its manifests name.

Everything wrong with the build raises `ManifestError` naming the file: a missing or corrupt JSON
file, an artifact whose digest does not match, an incompatible `irVersion`, a handler or hook that
cannot be imported, or generated validators without a codec for a handler. Timescape: the
transformers `timescape/serving.json` names and each old version's validators package.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import itertools
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any, Final

import orjson

from gati_runtime_min.errors import ManifestError
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
        methods[_need(meth, "name", str, mf)] = MethodSpec(
            timeout=float(timeout) if isinstance(timeout, int | float) and not isinstance(timeout, bool) else None,
            retries=int(meth.get("retries") or 0),
            idempotent=meth.get("idempotent") is True,
        )
    return {"runtime": runtime, "command": tuple(command), "pool": pool, "methods": methods}


@dataclass(frozen=True, slots=True)
class StepSpec:
    """One step of a handler's history, as served: its transformers (None: identity) and their names."""

    from_tsv: str
    to_tsv: str
    upgrade: Callable[[Any], Any] | None
    downgrade: Callable[[Any], Any] | None
    error: Callable[[Any], Any] | None
    names: Mapping[str, str]  # kind ("upgrade", "downgrade", "error") -> `module:function`


@dataclass(frozen=True, slots=True)
class ServedVersion:
    """A `(handler, version)` that `serving.json` lists: served through its transformer chain."""

    handler_id: str
    version: str
    check_response: Callable[[Any], Any]  # the version's `RESPONSES[handler_id]`
    decode_error: type[Exception]
    # the request parts the version has: (part, the 422 code, the version's decoder)
    parts: tuple[tuple[str, str, Callable[[Any], Any]], ...] = ()
    has_body: bool = False
    header_names: tuple[str, ...] = ()  # the request headers the version declares (lower case)
    # compiled once from the chain (oldest step first): the steps that have each kind of
    # transformer, in the order they run
    upgrades: tuple[StepSpec, ...] = ()  # oldest first
    downgrades: tuple[StepSpec, ...] = ()  # newest first
    errors: tuple[StepSpec, ...] = ()  # newest first
    body_only: Callable[[Any], Any] | None = None  # the version's body decoder when the body is all it has
    touches_request: bool = True  # False: nothing to check or upgrade (`serving.json`'s `checkRequest`)
    # the two chains as one function each, compiled at start-up (`transform.compiled`), once the
    # transformers are final: (body, query, params, headers, rid) -> the current request's parts and
    # the last upgrade; (value, rid) -> the body in this version's shape, checked
    # the version's quick checks (`timescape/checks/<slug>.py`): True, its decoder accepts the
    # value; False, ask the decoder (None: no quick check for this handler, the decoder alone)
    quick_body: Callable[[Any], bool] | None = None
    quick_response: Callable[[Any], bool] | None = None
    run_upgrade: Callable[..., Any] | None = None
    run_downgrade: Callable[[Any, str], Any] | None = None

    def with_transformers(
        self, wrap: Callable[[Callable[[Any], Any], StepSpec, str, dict[str, Any]], Callable[[Any], Any]]
    ) -> ServedVersion:
        """This version with each transformer replaced by `wrap(fn, step, kind, attributes)` (a span
        around it: telemetry, the playground); `attributes` are the transformer's span attributes."""

        def steps(chain: tuple[StepSpec, ...], kind: str) -> tuple[StepSpec, ...]:
            out = []
            for step in chain:
                fn: Callable[[Any], Any] = getattr(step, kind)
                attributes: dict[str, Any] = {
                    "gati.handler_id": self.handler_id,
                    "gati.api_version": self.version,
                    "gati.transformer.kind": kind,
                    "gati.transformer.step": f"{step.from_tsv} -> {step.to_tsv}",
                    "gati.transformer": step.names.get(kind, ""),
                }
                changes: Any = {kind: wrap(fn, step, kind, attributes)}
                out.append(replace(step, **changes))
            return tuple(out)

        return replace(
            self,
            upgrades=steps(self.upgrades, "upgrade"),
            downgrades=steps(self.downgrades, "downgrade"),
            errors=steps(self.errors, "error"),
            run_upgrade=None,  # compiled from the old transformers: compiled again from the new
            run_downgrade=None,
        )


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


def read_json(build_dir: Path, rel: str) -> Any:
    path = build_dir / rel
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ManifestError(str(path), "missing; run `gatic build` first") from None
    except OSError as exc:
        raise ManifestError(str(path), f"cannot read: {exc}") from None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ManifestError(str(path), f"corrupt JSON ({exc}); rebuild with `gatic build`") from None


def _need(obj: Any, key: str, kind: type | tuple[type, ...], file: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise ManifestError(file, f"missing key {key!r}; the build is incomplete or from another gati version")
    value = obj[key]
    if not isinstance(value, kind):
        raise ManifestError(file, f"key {key!r} has the wrong type ({type(value).__name__})")
    return value


def _check_artifacts(build_dir: Path, manifest: Mapping[str, Any], cache: ArtifactCache | None = None) -> None:
    artifacts = manifest.get("artifacts") or {}
    if cache is not None:
        cache.check_all(build_dir, artifacts)
        return
    for rel, digest in sorted(artifacts.items()):
        path = build_dir / rel
        try:
            data = path.read_bytes()
        except OSError:
            raise ManifestError(str(path), "listed in manifest.json artifacts but missing") from None
        if not isinstance(digest, str) or not digest.startswith("sha256:"):
            continue
        want = digest.removeprefix("sha256:")
        if hashlib.sha256(data).hexdigest() == want:
            continue
        if rel.endswith(".json"):  # accept the compact (hashing) form of the same JSON too
            try:
                compact = orjson.dumps(orjson.loads(data), option=orjson.OPT_SORT_KEYS)
            except orjson.JSONDecodeError:
                compact = b""
            if hashlib.sha256(compact).hexdigest() == want:
                continue
        raise ManifestError(str(path), "content does not match its digest in manifest.json; rebuild with `gatic build`")


def _import(ref_module: str, function: str, file: str) -> Callable[..., Any]:
    # a module imported already (and not half way through its import) is what `import_module`
    # returns, without its import machinery: a load asks for the same few modules thousands of times
    mod = sys.modules.get(ref_module)
    if mod is None or getattr(getattr(mod, "__spec__", None), "_initializing", False):
        try:
            mod = importlib.import_module(ref_module)
        except Exception as exc:
            raise ManifestError(file, f"cannot import module {ref_module!r}: {type(exc).__name__}: {exc}") from exc
    obj = getattr(mod, function, None)
    if obj is None:
        raise ManifestError(file, f"module {ref_module!r} has no attribute {function!r}")
    if not callable(obj):
        raise ManifestError(file, f"{ref_module}:{function} is not callable")
    return obj  # type: ignore[no-any-return]


def _hook(raw: Any, file: str) -> HookSpec:
    mod = _need(raw, "module", str, file)
    fn = _import(mod, _need(raw, "function", str, file), file)
    return HookSpec(
        id=str(raw.get("id") or f"{mod}:{raw['function']}"),
        kind=_need(raw, "kind", str, file),
        fn=fn,
        is_async=inspect.iscoroutinefunction(fn),
        timeout=raw.get("timeout"),
        retries=int(raw.get("retries") or 0),
        scope=str(raw.get("scope") or "route"),
    )


def load_validators(
    build_dir: Path, rel: str = "validators", needs: tuple[str, ...] = ("HANDLERS", "DecodeError")
) -> ModuleType:
    """Import `.gati/validators/` (or another generated validators package under `rel`) by file
    location under a private module name, and check it defines `needs`."""
    init = build_dir / rel / "__init__.py"
    if not init.is_file():
        raise ManifestError(str(init), "missing; run `gatic build` first")
    digest = hashlib.sha256(str(build_dir.resolve()).encode()).hexdigest()[:12]
    name = f"_gati_validators_{digest}_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(init.parent)])
    if spec is None or spec.loader is None:  # pragma: no cover - only for non-file paths
        raise ManifestError(str(init), "cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise ManifestError(str(init), f"cannot be imported: {type(exc).__name__}: {exc}") from exc
    for attr in needs:
        if not hasattr(module, attr):
            raise ManifestError(str(init), f"does not define {attr}; rebuild with `gatic build`")
    return module


def put_source_roots_on_path(bdir: Path, manifest: Mapping[str, Any]) -> Path:
    """Make the app's source roots importable (the handlers, and the validators that import the
    app's own enums and models); the project root."""
    project_root = (bdir / str(manifest.get("projectRoot", ".."))).resolve()
    for root in reversed(manifest.get("sourceRoots") or ["."]):
        p = str((project_root / root).resolve())
        if p not in sys.path:
            sys.path.insert(0, p)
    return project_root


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
    ir_version = _need(manifest, "irVersion", int, mfile)
    if ir_version not in SUPPORTED_IR_VERSIONS:
        raise ManifestError(
            mfile, f"irVersion {ir_version} is not supported by this runtime (supports {sorted(SUPPORTED_IR_VERSIONS)})"
        )
    app = _need(manifest, "app", str, mfile)
    entries = _need(manifest, "handlers", list, mfile)
    _check_artifacts(bdir, manifest, artifacts)
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
        rel = _need(entry, "file", str, mfile)
        h = read(rel)
        prior = prior_routes.get(rel)
        if prior is not None and prior[1] == server.get("requestTimeout") and still_current(prior[0], h, codecs):
            routes.append(prior[0])
            fresh_routes[rel] = prior
            continue
        hfile = f"{bdir}/{rel}"
        hid = _need(h, "handlerId", str, hfile)
        fn = _import(_need(h, "module", str, hfile), _need(h, "function", str, hfile), hfile)
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
                method=_need(h, "method", str, hfile).upper(),
                path=_need(h, "path", str, hfile),
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
        rel = _need(entry, "file", str, mfile)
        mf = str(bdir / rel)
        m = read(rel)
        cls = _import(_need(m, "module", str, mf), _need(m, "className", str, mf), mf)
        if not isinstance(cls, type):
            raise ManifestError(mf, f"{m['module']}:{m['className']} is not a class")
        modules.append(
            ModuleSpec(
                module_id=_need(m, "moduleId", str, mf),
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
        module = _need(entry, "module", str, tfile)
        variable = _need(entry, "variable", str, tfile)
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


SERVING: Final = "timescape/serving.json"
_KINDS: Final = ("upgrade", "downgrade", "error")


def load_serving(bdir: Path) -> tuple[dict[tuple[str, str], ServedVersion], str | None, bool]:
    """`timescape/serving.json` (absent: no transformers): per listed `(handler, version)` its
    validators and its steps with the transformers imported; `current`; whether the file exists."""
    sfile = str(bdir / SERVING)
    if not (bdir / SERVING).exists():
        return {}, None, False
    data = read_json(bdir, SERVING)
    current = data.get("current") if isinstance(data, dict) else None
    handlers = _need(data, "handlers", dict, sfile)
    packages: dict[str, ModuleType] = {}
    checks: dict[str, tuple[Mapping[str, Any], Mapping[str, Any]]] = {}  # slug -> (BODIES, RESPONSES)
    out: dict[tuple[str, str], ServedVersion] = {}
    for hid, per_version in sorted(handlers.items()):
        if not isinstance(per_version, dict):
            raise ManifestError(sfile, f"handlers.{hid} is not an object")
        for tsv, entry in sorted(per_version.items()):
            slug = _need(entry, "validators", str, sfile)
            if slug not in packages:
                rel = f"timescape/validators/{slug}"
                packages[slug] = load_validators(bdir, rel, ("HANDLERS", "DecodeError", "RESPONSES"))
                checks[slug] = _load_checks(bdir / f"timescape/checks/{slug}.py")
            module = packages[slug]
            vfile = str(bdir / f"timescape/validators/{slug}/__init__.py")
            if hid not in module.HANDLERS or hid not in module.RESPONSES:
                raise ManifestError(vfile, f"no codec or response check for handler {hid!r}; rebuild")
            steps = tuple(_step(raw, sfile) for raw in _need(entry, "steps", list, sfile))
            codec = module.HANDLERS[hid]
            parts = tuple(
                (part, code, getattr(codec, "decode_" + part))
                for part, code in (("params", "GATI513"), ("query", "GATI512"), ("body", "GATI511"))
                if _has_part(codec, part)
            )
            names = tuple(str(n).lower() for n in getattr(codec, "header_names", None) or ())
            if entry.get("checkRequest") is False:  # the current decoders make this very check
                parts, names = (), ()
            out[(hid, tsv)] = ServedVersion(
                parts=parts,
                has_body=any(p[0] == "body" for p in parts),
                header_names=names,
                upgrades=tuple(s for s in steps if s.upgrade is not None),
                downgrades=tuple(s for s in reversed(steps) if s.downgrade is not None),
                errors=tuple(s for s in reversed(steps) if s.error is not None),
                body_only=parts[0][2] if len(parts) == 1 and parts[0][0] == "body" and not names else None,
                quick_body=checks[slug][0].get(hid),
                quick_response=checks[slug][1].get(hid),
                touches_request=bool(parts or names or any(s.upgrade is not None for s in steps)),
                handler_id=hid,
                version=tsv,
                check_response=module.RESPONSES[hid],
                decode_error=module.DecodeError,
            )
    return out, current if isinstance(current, str) else None, True


def _load_checks(path: Path) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """`BODIES` and `RESPONSES` of a version's quick checks (empty when the build wrote none)."""
    if not path.is_file():
        return {}, {}
    spec = importlib.util.spec_from_file_location(f"_gati_checks_{next(_counter)}", path)
    if spec is None or spec.loader is None:  # pragma: no cover - only for non-file paths
        raise ManifestError(str(path), "cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ManifestError(str(path), f"cannot be imported: {type(exc).__name__}: {exc}") from exc
    return getattr(module, "BODIES", {}), getattr(module, "RESPONSES", {})


def _has_part(codec: Any, part: str) -> bool:
    """Whether a version's codec has this request part: the generated `HandlerCodec` keeps None
    (`_body`, `_query`, `_params`) for a part the contract does not have."""
    return callable(getattr(codec, "decode_" + part, None)) and getattr(codec, "_" + part, True) is not None


def _step(raw: Any, file: str) -> StepSpec:
    fns: dict[str, Callable[..., Any] | None] = {}
    names: dict[str, str] = {}
    for kind in _KINDS:
        ref = raw.get(kind) if isinstance(raw, dict) else None
        if ref is None:
            fns[kind] = None
            continue
        module, _, function = str(ref).partition(":")
        if not module or not function:
            raise ManifestError(file, f"transformer {ref!r} is not `module:function`")
        fns[kind] = _import(module, function, file)
        names[kind] = str(ref)
    return StepSpec(
        from_tsv=_need(raw, "from", str, file),
        to_tsv=_need(raw, "to", str, file),
        upgrade=fns["upgrade"],
        downgrade=fns["downgrade"],
        error=fns["error"],
        names=names,
    )
