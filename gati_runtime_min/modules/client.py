"""`ProcessModule`: the client of an out-of-process module — a supervised pool of processes.

Each declared method is an async callable (`await pricing.quote(sku="x", qty=2)`); calls are
multiplexed over each process's stdio by request id and go to the least-loaded ready process.
A crashed process fails its in-flight calls at once (GATI540) and is restarted with capped
exponential backoff; idempotent methods are retried (full jitter) on GATI540/GATI541 within the
call's overall deadline; `reload()` swaps in fresh processes and drains the old ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import sys
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from gati_runtime_min.errors import (
    ModuleCallError,
    ModuleCapabilityError,
    ModuleContractError,
    ModuleTimeout,
    ModuleUnavailable,
)
from gati_runtime_min.modules import protocol, sandbox
from gati_runtime_min.modules.process import Worker

_LOG: Final = logging.getLogger("gati.modules")
_now: Final = time.perf_counter  # the clock of `deadline` (as in gati_runtime_min.deadlines)

Params = dict[str, Any]
EncodeParams = Callable[[Params], Params]
DecodeResult = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class MethodPolicy:
    """How one method is called. `timeout` (seconds) bounds each attempt (None: the module's default);
    `retries` extra attempts are made only when `idempotent`, on GATI540/GATI541, with full-jitter
    exponential backoff starting at `backoff` seconds and capped at `backoff_cap`."""

    timeout: float | None = None
    retries: int = 0
    idempotent: bool = False
    backoff: float = 0.05
    backoff_cap: float = 1.0


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """A declared method: its policy, its parameter names (to map positional arguments) and codecs."""

    policy: MethodPolicy = field(default_factory=MethodPolicy)
    params: tuple[str, ...] | None = None
    encode_params: EncodeParams | None = None  # the arguments -> JSON-ready params (may raise: GATI543)
    decode_result: DecodeResult | None = None  # the JSON result -> the declared type (may raise: GATI543)


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """Restart backoff of a crashed process: `initial` seconds, times `factor` per failure, at most
    `cap`; back to `initial` once a process has stayed up `reset_after` seconds."""

    initial: float = 0.1
    factor: float = 2.0
    cap: float = 5.0
    reset_after: float = 10.0


@dataclass(frozen=True, slots=True)
class ModuleHealth:
    """What `/_gati/ready` reports for a module."""

    module_id: str
    ready: bool  # at least one process answers calls
    processes: int  # the pool size
    ready_processes: int
    restarts: int  # process restarts after crashes since the client was made (reloads not counted)
    last_exit_code: int | None  # of the last process that died unexpectedly
    pids: tuple[int, ...]
    isolated: bool  # runs in its own network namespace


class _Slot:
    __slots__ = ("retired", "supervisor", "worker")

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.retired = False
        self.supervisor: asyncio.Task[None] | None = None


class _Method:
    """A bound remote method: `await method(*args, **kwargs)`."""

    __slots__ = ("_call", "_deadline", "_name", "_params")

    def __init__(self, client: ProcessModule, name: str, params: tuple[str, ...] | None) -> None:
        self._call = client.call
        self._deadline = client.deadline
        self._name = name
        self._params = params

    def __call__(self, *args: Any, **kwargs: Any) -> Coroutine[Any, Any, Any]:
        if args:
            names = self._params
            if names is None or len(args) > len(names):
                raise TypeError(f"{self._name}() takes keyword arguments only (or at most {len(names or ())})")
            for name, value in zip(names, args, strict=False):
                if name in kwargs:
                    raise TypeError(f"{self._name}() got multiple values for argument {name!r}")
                kwargs[name] = value
        deadline = self._deadline
        return self._call(self._name, kwargs, deadline=deadline() if deadline is not None else None)

    def __repr__(self) -> str:
        return f"<module method {self._name}>"


class ProcessModule:
    """The supervised client of one out-of-process module (see the module docstring)."""

    def __init__(
        self,
        module_id: str,
        argv: Sequence[str],
        *,
        cwd: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        inherit_env: bool = True,
        pool: int = 1,
        methods: Mapping[str, MethodSpec | MethodPolicy] | None = None,
        egress: Sequence[str] = (),
        default_timeout: float = 30.0,
        restart: RestartPolicy | None = None,
        start_timeout: float = 10.0,
        stop_grace: float = 2.0,
        drain_timeout: float = 10.0,
        meta: Callable[[], Mapping[str, str] | None] | None = None,
        deadline: Callable[[], float | None] | None = None,
        span: Callable[[str], AbstractContextManager[Mapping[str, str]]] | None = None,
    ) -> None:
        if not argv:
            raise ValueError(f"module {module_id!r}: empty command")
        if pool < 1:
            raise ValueError(f"module {module_id!r}: pool must be >= 1, not {pool}")
        self.module_id = module_id
        self.argv = [sys.executable if a == protocol.PYTHON_PLACEHOLDER else a for a in argv]
        self.cwd = str(cwd) if cwd is not None else None
        self.pool = pool
        self.egress = tuple(egress)
        self.default_timeout = default_timeout
        self.restart = restart or RestartPolicy()
        self.start_timeout = start_timeout
        self.stop_grace = stop_grace
        self.drain_timeout = drain_timeout
        self._meta = meta  # per call: extra request members such as W3C trace context ("traceparent")
        # the caller's deadline (`time.perf_counter()`), e.g. its request's: bounds every attempt and retry
        self.deadline = deadline
        # per call: a client span (OpenTelemetry) yielding the trace context to send (`traceparent`)
        self.span = span
        base = dict(os.environ) if inherit_env else {}
        base.update(env or {})
        base[protocol.ENV_MODULE_ID] = module_id
        base[protocol.ENV_JS_HELPER] = (Path(__file__).with_name("js") / "gati-module.mjs").as_uri()
        base[protocol.ENV_EGRESS] = ",".join(self.egress)
        self._env = base
        self._specs: dict[str, MethodSpec] = {
            name: spec if isinstance(spec, MethodSpec) else MethodSpec(policy=spec)
            for name, spec in (methods or {}).items()
        }
        self._slots: list[_Slot] = []
        self._run_argv: list[str] = self.argv
        self.isolated = False
        self._started = False
        self._closing = False
        self._reload_lock: asyncio.Lock | None = None
        self._restarts = 0
        self._last_exit: int | None = None
        self.fingerprint: str | None = None  # what the running processes were made from (`wiring.fingerprint`)
        reserved = set(dir(type(self)))
        for name, spec in self._specs.items():
            if name not in reserved and name.isidentifier():
                setattr(self, name, _Method(self, name, spec.params))

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> ProcessModule:
        """Start the processes (the app's start-up and a hot swap enter modules this way)."""
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start the pool and wait until every process reported ready; ModuleUnavailable otherwise."""
        if self._started:
            return
        isolation = await sandbox.probe()
        self._run_argv, self.isolated = sandbox.plan(self.module_id, self.argv, self.egress, isolation)
        self._env[protocol.ENV_ISOLATED] = "1" if self.isolated else "0"
        self._reload_lock = asyncio.Lock()
        self._closing = False
        self._slots = await self._spawn_pool(self._run_argv)
        self._started = True
        _LOG.info("module %r started: %d process(es), pids %s", self.module_id, self.pool, self._pids())

    async def stop(self) -> None:
        """Stop every process (input closed, SIGTERM, SIGKILL after `stop_grace`); in-flight calls fail GATI540."""
        self._closing = True
        slots, self._slots = self._slots, []
        for slot in slots:
            slot.retired = True
            if slot.supervisor is not None:
                slot.supervisor.cancel()
        await asyncio.gather(*(slot.worker.stop(self.stop_grace) for slot in slots))
        for slot in slots:
            if slot.supervisor is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await slot.supervisor
        self._started = False

    async def reload(self, argv: Sequence[str] | None = None) -> None:
        """Start fresh processes (optionally of a new command), switch new calls to them, let the calls
        in flight on the old ones finish (up to `drain_timeout`), then stop the old ones. If the new
        processes do not come up, the old ones keep serving and ModuleUnavailable is raised."""
        if not self._started or self._reload_lock is None:
            raise ModuleUnavailable(self.module_id, "the module is not started")
        async with self._reload_lock:
            if argv is not None:
                self.argv = list(argv)
                isolation = await sandbox.probe()
                self._run_argv, self.isolated = sandbox.plan(self.module_id, self.argv, self.egress, isolation)
            fresh = await self._spawn_pool(self._run_argv)
            if self._closing:  # stopped while the fresh pool started
                for slot in fresh:
                    slot.retired = True
                await asyncio.gather(*(slot.worker.stop(self.stop_grace) for slot in fresh))
                raise ModuleUnavailable(self.module_id, "the module is stopped")
            old, self._slots = self._slots, fresh
            for slot in old:
                slot.retired = True
            until = _now() + self.drain_timeout
            while any(slot.worker.pending for slot in old) and _now() < until:
                await asyncio.sleep(0.005)
            for slot in old:
                if slot.supervisor is not None:
                    slot.supervisor.cancel()
            await asyncio.gather(*(slot.worker.stop(self.stop_grace) for slot in old))
            _LOG.info("module %r reloaded: pids %s", self.module_id, self._pids())

    def health(self) -> ModuleHealth:
        workers = [slot.worker for slot in self._slots]
        ready = sum(1 for w in workers if w.ready)
        return ModuleHealth(
            module_id=self.module_id,
            ready=ready > 0,
            processes=self.pool,
            ready_processes=ready,
            restarts=self._restarts,
            last_exit_code=self._last_exit,
            pids=tuple(w.pid for w in workers if w.ready),
            isolated=self.isolated,
        )

    async def _spawn_pool(self, argv: list[str]) -> list[_Slot]:
        workers = [Worker(self.module_id, argv, self.cwd, self._env) for _ in range(self.pool)]
        results = await asyncio.gather(*(w.spawn(self.start_timeout) for w in workers), return_exceptions=True)
        failed = next((r for r in results if isinstance(r, BaseException)), None)
        if failed is not None:
            await asyncio.gather(*(w.stop(self.stop_grace) for w in workers))
            raise failed
        slots = [_Slot(w) for w in workers]
        for slot in slots:
            slot.supervisor = asyncio.create_task(self._supervise(slot))
        return slots

    async def _supervise(self, slot: _Slot) -> None:
        """Restart the slot's process whenever it dies, with capped exponential backoff."""
        policy = self.restart
        delay = policy.initial
        while True:
            worker = slot.worker
            code = await asyncio.shield(worker.exited)
            if self._gone(slot):
                return
            self._last_exit = code
            uptime = _now() - worker.started_at if worker.started_at else 0.0
            if uptime >= policy.reset_after:
                delay = policy.initial
            _LOG.warning(
                "module %r: process %d exited with status %s after %.1fs; restarting in %.2fs",
                self.module_id,
                worker.pid,
                code,
                uptime,
                delay,
            )
            while True:
                await asyncio.sleep(delay)
                delay = min(delay * policy.factor, policy.cap)
                if self._gone(slot):
                    return
                fresh = Worker(self.module_id, worker.argv, self.cwd, self._env)
                self._restarts += 1
                try:
                    await fresh.spawn(self.start_timeout)
                except ModuleUnavailable as exc:
                    self._last_exit = fresh.exited.result() if fresh.exited.done() else None
                    _LOG.warning("module %r: restart failed (%s); next try in %.2fs", self.module_id, exc.detail, delay)
                    continue
                if self._gone(slot):
                    await fresh.stop(self.stop_grace)
                    return
                slot.worker = fresh
                _LOG.info("module %r: process restarted (pid %d)", self.module_id, fresh.pid)
                break

    def _gone(self, slot: _Slot) -> bool:
        return self._closing or slot.retired

    # ------------------------------------------------------------------ calls
    def method(self, name: str) -> Callable[..., Coroutine[Any, Any, Any]]:
        """The callable of a declared method (for names that are not identifiers or clash with this class)."""
        spec = self._specs.get(name)
        if spec is None:
            raise AttributeError(f"module {self.module_id!r} declares no method {name!r}")
        return _Method(self, name, spec.params)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"module {self.module_id!r} declares no method {name!r}")

    def _pick(self) -> Worker | None:
        best: Worker | None = None
        for slot in self._slots:
            w = slot.worker
            if w.ready and (best is None or len(w.pending) < len(best.pending)):
                best = w
        return best

    async def _wait_ready(self, wait: float) -> Worker | None:
        until = _now() + wait
        while _now() < until and not self._closing:
            await asyncio.sleep(0.005)
            worker = self._pick()
            if worker is not None:
                return worker
        return None

    async def call(self, method: str, params: Params, *, deadline: float | None = None, request_id: str = "") -> Any:
        """Call `method` (see `_call`), inside a client span with its trace context sent along when `span` is set."""
        if self.span is None:
            return await self._call(method, params, deadline, request_id, None)
        with self.span(method) as headers:
            return await self._call(method, params, deadline, request_id, headers or None)

    async def _call(
        self, method: str, params: Params, deadline: float | None, request_id: str, trace: Mapping[str, str] | None
    ) -> Any:
        """Call `method` with JSON-RPC params by name. `deadline` (`time.perf_counter()`) bounds every attempt
        and retry; without it an idempotent call may take `timeout * (1 + retries)` plus backoff."""
        spec = self._specs.get(method)
        if spec is None:
            if self._specs:
                raise ModuleContractError(self.module_id, method, "the module declares no such method")
            spec = _DEFAULT_SPEC
        if spec.encode_params is not None:
            try:
                params = spec.encode_params(params)
            except Exception as exc:
                raise ModuleContractError(self.module_id, method, f"arguments do not match: {exc}") from None
        policy = spec.policy
        timeout = policy.timeout if policy.timeout is not None else self.default_timeout
        attempts = 1 + policy.retries if policy.idempotent else 1
        end = _now() + timeout * attempts + policy.backoff_cap * (attempts - 1)
        if deadline is not None:
            end = min(end, deadline)
        meta = self._meta() if self._meta is not None else None
        if trace:
            meta = {**meta, **trace} if meta else trace
        attempt = 0
        while True:
            try:
                worker = self._pick()
                remaining = end - _now()
                if worker is None and attempt and remaining > 0:
                    worker = await self._wait_ready(min(remaining, timeout))
                if worker is None:
                    raise ModuleUnavailable(self.module_id, self._down_reason())
                reply = await worker.call(method, params, min(timeout, max(end - _now(), 0.0)), meta)
                break
            except (ModuleUnavailable, ModuleTimeout):
                attempt += 1
                if attempt >= attempts:
                    raise
                pause = random.uniform(0.0, min(policy.backoff_cap, policy.backoff * 2 ** (attempt - 1)))
                if _now() + pause >= end:
                    raise
                _LOG.info("module %r: retrying idempotent %s (attempt %d)", self.module_id, method, attempt + 1)
                await asyncio.sleep(pause)
        if "error" in reply:
            raise self._remote_error(method, reply["error"], request_id)
        result = reply.get("result")
        if spec.decode_result is not None:
            try:
                return spec.decode_result(result)
            except Exception as exc:
                raise ModuleContractError(self.module_id, method, f"result does not match: {exc}") from None
        return result

    def _remote_error(self, method: str, error: Any, request_id: str) -> Exception:
        if not isinstance(error, dict):
            return ModuleCallError(self.module_id, method, protocol.INTERNAL_ERROR, "malformed error object")
        code = error.get("code")
        code = code if isinstance(code, int) else protocol.INTERNAL_ERROR
        message = str(error.get("message") or "error")[:1000]
        if code == protocol.CAPABILITY_REFUSED:
            data = error.get("data")
            capability = str(data.get("capability", "egress")) if isinstance(data, dict) else "egress"
            sandbox.audit_refused(self.module_id, capability, message, request_id)
            return ModuleCapabilityError(self.module_id, capability, message)
        if code in protocol.CONTRACT_CODES:
            return ModuleContractError(self.module_id, method, message)
        return ModuleCallError(self.module_id, method, code, message)

    def _down_reason(self) -> str:
        if self._closing or not self._started:
            return "the module is stopped"
        last = self._last_exit
        return "its process is restarting" + (f" (last exit status {last})" if last is not None else "")

    def _pids(self) -> list[int]:
        return [slot.worker.pid for slot in self._slots]

    def __repr__(self) -> str:
        return f"<ProcessModule {self.module_id!r} pool={self.pool} started={self._started}>"


_DEFAULT_SPEC: Final = MethodSpec()


def from_manifest(
    manifest: Mapping[str, Any],
    root: str | Path,
    *,
    codecs: Mapping[str, tuple[EncodeParams | None, DecodeResult | None]] | None = None,
    **options: Any,
) -> ProcessModule:
    """A `ProcessModule` from a `.gati/modules/<id>.json` manifest of a `process` module (cwd = `root`).

    `codecs` maps method names to `(encode_params, decode_result)`; `options` go to the constructor."""
    default = manifest.get("timeout")
    methods: dict[str, MethodSpec] = {}
    for m in manifest.get("methods", []):
        enc, dec = (codecs or {}).get(m["name"], (None, None))
        timeout = m.get("timeout", default)
        methods[m["name"]] = MethodSpec(
            policy=MethodPolicy(
                timeout=float(timeout) if timeout is not None else None,
                retries=int(m.get("retries") or 0),
                idempotent=bool(m.get("idempotent", False)),
            ),
            params=tuple(p[0] for p in m.get("params", [])),
            encode_params=enc,
            decode_result=dec,
        )
    return ProcessModule(
        manifest["moduleId"],
        list(manifest["command"]),
        cwd=root,
        pool=int(manifest.get("pool") or 1),
        methods=methods,
        egress=tuple(manifest.get("egress") or ()),
        **options,
    )
