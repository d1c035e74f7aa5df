"""The older API versions a build serves (`timescape/serving.json`): per `(handler, version)`, that
version's validators, quick checks and transformer chain, imported once at start-up."""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from gati_runtime_min.artifacts import import_ref, load_validators, need, read_json
from gati_runtime_min.errors import ManifestError

_counter = itertools.count()


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
    handlers = need(data, "handlers", dict, sfile)
    packages: dict[str, ModuleType] = {}
    checks: dict[str, tuple[Mapping[str, Any], Mapping[str, Any]]] = {}  # slug -> (BODIES, RESPONSES)
    out: dict[tuple[str, str], ServedVersion] = {}
    for hid, per_version in sorted(handlers.items()):
        if not isinstance(per_version, dict):
            raise ManifestError(sfile, f"handlers.{hid} is not an object")
        for tsv, entry in sorted(per_version.items()):
            slug = need(entry, "validators", str, sfile)
            if slug not in packages:
                rel = f"timescape/validators/{slug}"
                packages[slug] = load_validators(bdir, rel, ("HANDLERS", "DecodeError", "RESPONSES"))
                checks[slug] = _load_checks(bdir / f"timescape/checks/{slug}.py")
            module = packages[slug]
            vfile = str(bdir / f"timescape/validators/{slug}/__init__.py")
            if hid not in module.HANDLERS or hid not in module.RESPONSES:
                raise ManifestError(vfile, f"no codec or response check for handler {hid!r}; rebuild")
            steps = tuple(_step(raw, sfile) for raw in need(entry, "steps", list, sfile))
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
        fns[kind] = import_ref(module, function, file)
        names[kind] = str(ref)
    return StepSpec(
        from_tsv=need(raw, "from", str, file),
        to_tsv=need(raw, "to", str, file),
        upgrade=fns["upgrade"],
        downgrade=fns["downgrade"],
        error=fns["error"],
        names=names,
    )
