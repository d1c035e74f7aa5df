"""`HotSwapApp`: serve a build and swap in the next one without restarting the process.

Each request is served by the `GatiApp` that was current when it arrived, so requests in flight
finish on the old code while new ones reach the new app. `swap()` (called from any thread, e.g.
`gatic watch` after a good rebuild):

1. finds the app's own modules (files under the project's source roots) whose source changed
   since they were imported, or that are gone, plus every module of the app that refers to one
   of them, transitively (a module refers to another when it holds it, or an object defined in
   it, at top level);
2. drops exactly those from `sys.modules` (and their stale bytecode) and loads the new build,
   which imports them afresh; unchanged modules are not re-executed. The generated validators
   module (megabytes on a large app) is imported statement group by statement group, compiling
   only the groups that changed since the last swap (`hotswap_code`), in a fraction of a whole
   compile; the garbage collector stays off while the new app loads;
3. keeps each module instance (`@module` class) whose class object is unchanged, so its state
   survives, and enters the new ones on the server's event loop; then makes the new app current.
   The old app's instances that were replaced are exited once its last request has finished.

A build that cannot be loaded, or code that fails to import, leaves the last good app serving
and `sys.modules` as it was; the `SwapReport` says why, at the user's `file:line` when the error
comes from the app's own source. Pure ASGI; never imports the compiler.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import importlib
import importlib.util
import sys
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from gati_runtime_min.app import GatiApp
from gati_runtime_min.artifacts import put_source_roots_on_path, read_json
from gati_runtime_min.errors import ManifestError
from gati_runtime_min.hotswap_code import ChunkedImporter
from gati_runtime_min.stamps import ArtifactCache

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


VALIDATORS: Final = "validators/__init__.py"
# folders whose modules are never the app's own, even under a source root
_SKIP: Final = frozenset({"site-packages", "dist-packages", ".venv", "venv", "node_modules", ".git"})


@dataclass(frozen=True)
class SwapReport:
    ok: bool
    generation: int
    reloaded: tuple[str, ...] = ()
    kept_instances: tuple[str, ...] = ()
    new_instances: tuple[str, ...] = ()
    error: str | None = None
    location: str | None = None  # `path:line` in the user's source, when known
    seconds: float = 0.0

    def line(self) -> str:
        if self.ok:
            reloaded = ", ".join(self.reloaded) if self.reloaded else "no code changed"
            kept = f"; kept module state: {', '.join(self.kept_instances)}" if self.kept_instances else ""
            return f"swapped in generation {self.generation} ({reloaded}){kept} in {self.seconds * 1000:.0f} ms"
        where = f"{self.location}: " if self.location else ""
        return f"the new code failed to load, the last good app keeps serving: {where}{self.error}"


@dataclass
class _Generation:
    app: GatiApp
    number: int
    in_flight: int = 0
    retired: bool = False
    leave: list[Any] = field(default_factory=list)  # instances to exit once drained


class HotSwapApp:
    """The ASGI app `gatic watch --serve` runs: the current generation of a `GatiApp`."""

    def __init__(self, build_dir: str | Path) -> None:
        self.build_dir = Path(build_dir).resolve()
        self._lock = threading.Lock()
        # the build's artifacts and the app's source files as the last load saw them: a swap
        # hashes and parses only what changed since (`stamps`)
        self._artifacts = ArtifactCache()
        self._stamps = self._artifacts.stamps
        manifest = self._manifest()
        self._validators_digest = self._validators_version(manifest)
        self._importer = ChunkedImporter()
        self._own_files: dict[str, bool] = {}  # file -> whether it is the app's own source
        with _gc_paused():
            self._current = _Generation(
                GatiApp(self.build_dir, validators=self._load_validators(manifest), artifacts=self._artifacts), 1
            )
        self._roots = self._source_roots(self._current.app)
        self._digests: dict[str, tuple[str, str | None]] = {}  # module -> (file, sha256 at import)
        self._record_modules()
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def app(self) -> GatiApp:
        return self._current.app

    @property
    def generation(self) -> int:
        return self._current.number

    # --- serving -----------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            self.loop = asyncio.get_running_loop()
            await self._lifespan(receive, send)
            return
        gen = self._current  # this request stays on this generation whatever happens meanwhile
        gen.in_flight += 1
        try:
            await gen.app(scope, receive, send)
        finally:
            gen.in_flight -= 1
            if gen.retired and gen.in_flight == 0 and gen.leave:
                await self._leave(gen)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self._current.app.startup()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                with contextlib.suppress(Exception):
                    await self._current.app.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # --- swapping ----------------------------------------------------------------------
    def swap(self, timeout: float = 30.0) -> SwapReport:
        """Load the build folder again and make it current (see the module docstring)."""
        started = time.perf_counter()
        with self._lock, _gc_paused():
            old = self._current
            # digests taken before anything is imported: a file saved again meanwhile is seen as
            # changed by the next swap (an extra reload), never as current when it is not
            before = {name: (file, self._stamps.digest(file)) for name, (file, _) in self._digests.items()}
            manifest = self._manifest()
            validators_digest = self._validators_version(manifest)
            same_validators = validators_digest is not None and validators_digest == self._validators_digest
            changed, stale = self._stale_modules(before)
            removed = {name: sys.modules.pop(name) for name in sorted(stale) if name in sys.modules}
            for name, module in removed.items():
                if name in changed:  # an importer whose own source is unchanged keeps its valid bytecode
                    _drop_bytecode(module)
            importlib.invalidate_caches()
            try:
                new_app = GatiApp(
                    self.build_dir,
                    instances=old.app.instances,
                    validators=old.app.build.validators if same_validators else self._load_validators(manifest),
                    telemetry=old.app.telemetry,  # one tracer and meter across generations
                    artifacts=self._artifacts,
                )
                new_app._owns_telemetry = old.app._owns_telemetry
                if new_app.playground is not None and old.app.playground is not None:
                    new_app.playground.carry_over(old.app.playground)  # the traces and gates stay
            except Exception as exc:
                # the old modules come back: the last good app and later swaps see what they saw
                half_loaded = [
                    name
                    for name in list(sys.modules)
                    if name in removed
                    or (name not in self._digests and self._is_project_module(name, sys.modules.get(name)))
                ]
                for name in half_loaded:
                    sys.modules.pop(name, None)
                sys.modules.update(removed)
                error, location = self._describe(exc)
                return SwapReport(False, old.number, error=error, location=location)
            kept = tuple(sorted(m for m, inst in new_app.instances.items() if old.app.instances.get(m) is inst))
            fresh = tuple(sorted(set(new_app.instances) - set(kept)))
            new = _Generation(new_app, old.number + 1)
            replaced = [inst for m, inst in old.app.instances.items() if new_app.instances.get(m) is not inst]
            if self.loop is not None and self.loop.is_running():
                future = asyncio.run_coroutine_threadsafe(self._activate(new, fresh, old, replaced), self.loop)
                future.result(timeout)
            else:
                self._current = new
            self._validators_digest = validators_digest
            self._record_modules(before)
        return SwapReport(
            True,
            new.number,
            reloaded=tuple(sorted(removed)),
            kept_instances=kept,
            new_instances=fresh,
            seconds=time.perf_counter() - started,
        )

    async def _activate(self, new: _Generation, fresh: tuple[str, ...], old: _Generation, replaced: list[Any]) -> None:
        """On the server's loop: enter the new module instances, switch, retire the old generation."""
        if old.app._started:
            for module_id in fresh:
                enter = getattr(new.app.instances[module_id], "__aenter__", None)
                if enter is not None:
                    await enter()
            new.app._started = True
            new.app.ready = True
        self._current = new
        old.retired = True
        old.leave = [inst for inst in replaced if hasattr(inst, "__aexit__")] if old.app._started else []
        if old.in_flight == 0 and old.leave:
            await self._leave(old)

    async def _leave(self, gen: _Generation) -> None:
        leave, gen.leave = gen.leave, []
        for inst in reversed(leave):
            with contextlib.suppress(Exception):
                await inst.__aexit__(None, None, None)

    def _manifest(self) -> dict[str, Any] | None:
        """`manifest.json`, read once per load for the validators' digest and source roots; None
        when it cannot be read (`load_build` then says why)."""
        try:
            manifest = read_json(self.build_dir, "manifest.json")
        except ManifestError:
            return None
        return manifest if isinstance(manifest, dict) else None

    def _validators_version(self, manifest: dict[str, Any] | None) -> str | None:
        """What tells the validators module unchanged: the digest `manifest.json` records for it
        (the load checks the file against it, so a module whose recorded digest is unchanged is
        the one already imported, and its megabytes are not hashed an extra time), else the
        file's own sha256; None when neither can be read."""
        artifacts = manifest.get("artifacts") if manifest is not None else None
        recorded = artifacts.get(VALIDATORS) if isinstance(artifacts, dict) else None
        if isinstance(recorded, str) and recorded.startswith("sha256:"):
            return f"recorded {recorded}"
        digest = self._stamps.digest(str(self.build_dir / VALIDATORS))
        return None if digest is None else f"file sha256:{digest}"

    def _load_validators(self, manifest: dict[str, Any] | None) -> ModuleType | None:
        """The generated validators module, compiling only the statement groups that changed since
        the last load (`hotswap_code`); None when it must be imported whole (by `load_build`)."""
        init = self.build_dir / "validators" / "__init__.py"
        if not init.is_file() or manifest is None:
            return None  # `load_build` says so
        put_source_roots_on_path(self.build_dir, manifest)  # the validators import the app's own types
        digest = hashlib.sha256(str(self.build_dir).encode()).hexdigest()[:12]
        try:
            module = self._importer.load(init, f"_gati_validators_{digest}_h")
        except Exception as exc:  # the same report as `artifacts.load_validators` gives
            raise ManifestError(str(init), f"cannot be imported: {type(exc).__name__}: {exc}") from exc
        if module is None or not all(hasattr(module, attr) for attr in ("HANDLERS", "DecodeError")):
            return None
        return module

    # --- which modules are stale ---------------------------------------------------------
    @staticmethod
    def _source_roots(app: GatiApp) -> tuple[Path, ...]:
        roots = app.build.manifest.get("sourceRoots") or ["."]
        return tuple((app.build.project_root / r).resolve() for r in roots)

    def _is_project_module(self, name: str, module: ModuleType | None) -> bool:
        file = getattr(module, "__file__", None)
        if not file or name.startswith("_gati_validators_"):
            return False
        own = self._own_files.get(file)
        if own is None:  # resolved once per file: every swap asks about every module
            path = Path(file).resolve()
            own = not path.is_relative_to(self.build_dir) and _SKIP.isdisjoint(path.parts)
            own = own and any(path.is_relative_to(root) for root in self._roots)
            self._own_files[file] = own
        return own

    def _record_modules(self, before: dict[str, tuple[str, str | None]] | None = None) -> None:
        known = before or {}
        self._digests = {
            name: known[name] if name in known else (str(module.__file__), self._stamps.digest(str(module.__file__)))
            for name, module in list(sys.modules.items())
            if self._is_project_module(name, module)
        }

    def _stale_modules(self, now: dict[str, tuple[str, str | None]]) -> tuple[set[str], set[str]]:
        """The modules whose source changed (`now`: their digests as this swap found them), and
        those plus every module that refers to one."""
        changed = {name for name, (_, digest) in self._digests.items() if now[name][1] != digest}
        if not changed:
            return set(), set()
        refers: dict[str, set[str]] = {}
        for name in self._digests:
            module = sys.modules.get(name)
            if module is None:
                continue
            deps: set[str] = set()
            for value in list(vars(module).values()):
                if isinstance(value, ModuleType):
                    if not value.__name__.startswith(name + "."):  # a package's own submodule is no use of it
                        deps.add(value.__name__)
                else:
                    owner = getattr(value, "__module__", None)
                    if isinstance(owner, str):
                        deps.add(owner)
            for dep in deps & self._digests.keys():
                if dep != name:
                    refers.setdefault(dep, set()).add(name)
        stale = set(changed)
        todo = list(changed)
        while todo:
            for importer in refers.get(todo.pop(), ()):
                if importer not in stale:
                    stale.add(importer)
                    todo.append(importer)
        return changed, stale

    def _describe(self, exc: BaseException) -> tuple[str, str | None]:
        """The error, and where in the user's own source it happened (`path:line`), if there."""
        cause: BaseException = exc
        while isinstance(cause, ManifestError) and cause.__cause__ is not None:
            cause = cause.__cause__
        message = f"{type(cause).__name__}: {cause}"
        if isinstance(cause, SyntaxError) and cause.filename and cause.lineno:
            return f"SyntaxError: {cause.msg}", f"{self._show(cause.filename)}:{cause.lineno}"
        location = None
        for frame in traceback.extract_tb(cause.__traceback__):
            path = Path(frame.filename)
            if not path.is_absolute():
                continue
            resolved = path.resolve()
            if any(resolved.is_relative_to(r) for r in self._roots) and not resolved.is_relative_to(self.build_dir):
                location = f"{self._show(frame.filename)}:{frame.lineno}"
        return message, location

    def _show(self, filename: str) -> str:
        path = Path(filename).resolve()
        root = self._current.app.build.project_root
        return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while an app loads: it allocates hundreds of thousands of
    long-lived objects (routes, generated functions) and collection passes would scan them all
    for nothing. Collection comes back as it was afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _drop_bytecode(module: ModuleType) -> None:
    """Remove the module's cached bytecode: its timestamp has a one-second resolution, so an edit
    of the same size within the same second would otherwise load the old code."""
    file = getattr(module, "__file__", None)
    if not file or not file.endswith(".py"):
        return
    with contextlib.suppress(OSError, ValueError, NotImplementedError):
        Path(importlib.util.cache_from_source(file)).unlink(missing_ok=True)
