"""The module instances of a build: in-process classes, and supervised clients of process modules.

`instantiate(build, kept)` makes one instance per module manifest:

- a `python` module is its class, instantiated with no arguments;
- a `process` module is a `ProcessModule` built from its manifest (cwd: the project root), with the
  generated codecs of the build's validators (`MODULES[id][method]`: the arguments checked and
  turned into JSON on the way out, the result checked and decoded on the way back).

`kept` holds the instances of the app being replaced (hot swap): an in-process instance is reused
when its class object is the same; a process module when its manifest and the files of its command
(the folder of each file the command names) are unchanged. Otherwise a fresh instance is made, which
the hot swap starts before switching and the old one is stopped once its requests have drained:
this is how a module is reloaded without restarting handlers.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Final

from gati_runtime_min.errors import ManifestError
from gati_runtime_min.loader import ModuleSpec
from gati_runtime_min.modules.client import ProcessModule, from_manifest
from gati_runtime_min.modules.sandbox import note_in_process

_SKIP_DIRS: Final = frozenset({"node_modules", ".git", "__pycache__", ".venv", "venv", ".gati"})
_MAX_FILES: Final = 2000


def fingerprint(manifest: Mapping[str, Any], root: Path) -> str:
    """What a running process module depends on: its manifest (not its source position) and the
    contents of the folders of the files its command names (skipping `node_modules` and caches)."""
    digest = hashlib.sha256()
    digest.update(repr(sorted((k, repr(v)) for k, v in manifest.items() if k != "source")).encode())
    folders: set[Path] = set()
    for arg in manifest.get("command") or ():
        path = root / arg  # an absolute `arg` stays itself
        if path.is_file():
            folders.add(path.resolve().parent)
    seen = 0
    for folder in sorted(folders):
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
            for name in sorted(filenames):
                seen += 1
                if seen > _MAX_FILES:
                    return digest.hexdigest()
                file = Path(dirpath) / name
                try:
                    digest.update(str(file).encode() + b"\0" + file.read_bytes())
                except OSError:
                    digest.update(str(file).encode() + b"\0?")
    return digest.hexdigest()


def _takes_context(cls: type[Any]) -> bool:
    """Whether `cls(...)` takes one positional argument (the module's `gctx`)."""
    try:
        params = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return bool(positional) and positional[0].default is inspect.Parameter.empty


def instantiate(
    modules: tuple[ModuleSpec, ...],
    root: Path,
    validators: Any,
    kept: Mapping[str, Any] | None = None,
    meta: Callable[[], Mapping[str, str] | None] | None = None,
    deadline: Callable[[], float | None] | None = None,
    context: Callable[[ModuleSpec], Any] | None = None,
    span: Callable[[str, str], AbstractContextManager[Mapping[str, str]]] | None = None,
) -> dict[str, Any]:
    """One instance per module (see the module docstring). For process modules, `meta` gives
    per-call request members, `deadline` the caller's deadline and `span(module_id, method)` a client
    span around each call that yields the trace context to send. An
    in-process module whose class takes one argument gets `context(spec)`: the `gctx` its
    capabilities allow."""
    codecs: Mapping[str, Mapping[str, Any]] = getattr(validators, "MODULES", None) or {}
    instances: dict[str, Any] = {}
    for spec in modules:
        old = (kept or {}).get(spec.module_id)
        if spec.runtime == "process":
            digest = fingerprint(spec.manifest, root)
            if isinstance(old, ProcessModule) and getattr(old, "fingerprint", None) == digest:
                instances[spec.module_id] = old
                continue
            pairs = {
                name: (codec.encode_params, codec.decode_result)
                for name, codec in (codecs.get(spec.module_id) or {}).items()
            }
            try:
                client = from_manifest(
                    spec.manifest,
                    root,
                    codecs=pairs,
                    meta=meta,
                    deadline=deadline,
                    span=functools.partial(span, spec.module_id) if span is not None else None,
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ManifestError(f"modules/{spec.module_id}.json", f"cannot make the module client: {exc}") from exc
            client.fingerprint = digest
            instances[spec.module_id] = client
            continue
        if old is not None and type(old) is spec.cls:
            instances[spec.module_id] = old
            continue
        try:
            if context is not None and _takes_context(spec.cls):
                instances[spec.module_id] = spec.cls(context(spec))
            else:
                instances[spec.module_id] = spec.cls()
        except Exception as exc:
            raise ManifestError(
                f"modules/{spec.module_id}.json", f"cannot instantiate {spec.cls.__name__}: {exc}"
            ) from exc
        note_in_process(spec.module_id, spec.egress)
    return instances


class TracedModule:
    """An in-process module seen through a span per method call (telemetry on only: with it off the
    handlers hold the instance itself). Async methods get an async wrapper, others a plain one."""

    def __init__(
        self, module_id: str, instance: Any, span: Callable[[str, str], AbstractContextManager[Mapping[str, str]]]
    ) -> None:
        self._module_id = module_id
        self._instance = instance
        self._span = span

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._instance, name)
        if name.startswith("_") or not callable(value):
            return value
        module_id, span = self._module_id, self._span
        if inspect.iscoroutinefunction(value):

            async def traced_async(*args: Any, **kwargs: Any) -> Any:
                with span(module_id, name):
                    return await value(*args, **kwargs)

            wrapper: Any = traced_async
        else:

            def traced(*args: Any, **kwargs: Any) -> Any:
                with span(module_id, name):
                    return value(*args, **kwargs)

            wrapper = traced
        functools.update_wrapper(wrapper, value)
        self.__dict__[name] = wrapper
        return wrapper

    def __repr__(self) -> str:
        return f"<traced module {self._module_id!r}: {self._instance!r}>"
