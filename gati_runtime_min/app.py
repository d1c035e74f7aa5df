"""`GatiApp`: the ASGI 3 application built from a `.gati/` folder.

Per request: request id → match → authenticate, roles, rate limit → read body → contexts → the
lifecycle (hooks, decoding, handler, encoding) → send → one audit line. What is off that path
(lifespan, `/_gati/` endpoints, 404/405, error answers, the audit line) is `edges.AppEdges`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from contextlib import AbstractContextManager
from pathlib import Path
from time import perf_counter
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

import orjson

from gati_runtime_min.context import GlobalContext, LocalContext, Modules
from gati_runtime_min.current import CURRENT
from gati_runtime_min.deadlines import running_loop as _running_loop
from gati_runtime_min.deadlines import task_of as _task_of
from gati_runtime_min.docs_page import DocsEndpoints, docs_enabled
from gati_runtime_min.edges import AUDIT, JSON_HEADER, NO_BODY_STATUS, AppEdges, answer_headers
from gati_runtime_min.errors import HTTPError
from gati_runtime_min.ids import RequestIds
from gati_runtime_min.ingress import (
    ClientDisconnected,
    Headers,
    check_declared_length,
    json_body_from,
    parse_json_body,
    parse_query,
    raw_headers,
)
from gati_runtime_min.lifecycle import Lifecycle, RoutePlan, invoke
from gati_runtime_min.loader import Build, ModuleSpec, RouteSpec, load_build
from gati_runtime_min.messages import _UNSET, Request, Response
from gati_runtime_min.modules.client import ProcessModule
from gati_runtime_min.modules.wiring import TracedModule, instantiate
from gati_runtime_min.playground.active import ACTIVE, RECORDED
from gati_runtime_min.playground.settings import PlaygroundSettings
from gati_runtime_min.policies import Authenticator, check_roles
from gati_runtime_min.routing import Router
from gati_runtime_min.secrets import Secrets, SecretStore, bind_request
from gati_runtime_min.served import ServedVersion, StepSpec
from gati_runtime_min.stamps import ArtifactCache
from gati_runtime_min.state import MemoryState, StateBackend, StateSettings, open_backend
from gati_runtime_min.telemetry import TRACED, Metrics, Telemetry
from gati_runtime_min.transform import (
    TransformerFault,
    compiled,
    decode_upgraded,
    downgraded_error,
    invalid_request,
)
from gati_runtime_min.versions import Timescape, UsageWindow, VersionResolver

if TYPE_CHECKING:
    from gati_runtime_min.playground import Playground
    from gati_runtime_min.playground.recorder import Recorder

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON: Final = JSON_HEADER
_INFO: Final = logging.INFO
_audit_on: Final = AUDIT.isEnabledFor
_request: Final = Request._new
_loads: Final = orjson.loads
_dumps: Final = orjson.dumps
_lctx: Final = LocalContext._new


class GatiApp(AppEdges):
    """Serve the build in `build_dir` (the `.gati/` folder). Raises `ManifestError` if it is unusable.

    Parameters:
        build_dir: the build folder written by `gatic build`.
        max_body_bytes: overrides `server.maxBodyBytes` of the build settings.
        request_timeout: overrides `server.requestTimeout` for handlers without their own timeout.
        instances: module instances to keep (hot swap, `hotswap.py`): one is reused for a module
            whose class is the very same object, so its state survives; others are created.
        validators: the generated validators module, already imported from this build's unchanged
            `validators/__init__.py` (hot swap); by default it is imported.
        wait_for_state: a state store that is not there at start-up is waited for (not ready
            until it answers) instead of failing the start; `gatic serve`'s workers, started after
            the server reached it once.
        telemetry: spans and metrics go here rather than where `[tool.gati.telemetry]` says
            (tests pass one built on the SDK's in-memory exporter and reader).
        dev: the dev flag: the playground's page and API at `/_gati/playground` (default: the
            `GATI_DEV` environment variable; off).
        trace: record every request in the playground's trace store (default: `GATI_TRACE`, else
            on with the dev flag).
        artifacts: what the last load of this build folder checked (hot swap, `stamps.py`):
            unchanged artifacts are not hashed or parsed again.
    """

    def __init__(
        self,
        build_dir: str | Path,
        *,
        max_body_bytes: int | None = None,
        request_timeout: float | None = None,
        instances: Mapping[str, Any] | None = None,
        validators: ModuleType | None = None,
        wait_for_state: bool = False,
        telemetry: Telemetry | None = None,
        dev: bool | None = None,
        trace: bool | None = None,
        artifacts: ArtifactCache | None = None,
    ) -> None:
        self.build: Build = load_build(build_dir, validators=validators, artifacts=artifacts)
        self.wait_for_state = wait_for_state
        server = self.build.settings.get("server") or {}
        self.max_body_bytes = int(max_body_bytes or server.get("maxBodyBytes") or 1_048_576)
        routes = self.build.routes
        if request_timeout is not None:
            routes = tuple(_with_timeout(r, request_timeout) for r in routes)
        self.auth = Authenticator(self.build.settings.get("auth") or {}, self.build.project_root)
        self.ids = RequestIds()
        self.versions = VersionResolver(
            self.build.manifest.get("versions") or (),
            {r.handler_id: r.manifest["timescapeVersions"] for r in routes if r.manifest.get("timescapeVersions")},
            head=self.build.has_serving and self.build.serving_current is None,
            served={version for _, version in self.build.serving},
        )
        self.state_settings = StateSettings.resolve(self.build.settings.get("state"), self.build.app)
        backend = open_backend(self.state_settings, self.versions.current)
        self.state: StateBackend = backend
        # the memory backend's limiter is called inline (no await); others through `state.hit`
        self.limiter = backend.limiter if isinstance(backend, MemoryState) else None
        self._usage = self.state.counts
        self._errors = self.state.tally.errors
        self._seen = self.state.tally.seen
        self.lifecycle = Lifecycle(self.build.global_hooks, self.build.validators.DecodeError)
        # filled below, once `gctx` exists: an in-process module may take the `gctx` its capabilities allow
        self.instances: dict[str, Any] = {}
        handles: dict[str, Any] = {}  # what handlers and modules reach: the instances (traced when telemetry is on)
        self.modules = Modules(handles)
        settings = self.build.settings
        # off (None) unless `[tool.gati.telemetry]` names an exporter: then spans and `gctx.metrics`
        self.telemetry = telemetry or Telemetry.from_settings(
            settings.get("telemetry"), self.build.app, self.versions.current
        )
        self._owns_telemetry = telemetry is None  # its exporters end with the app (given ones are flushed)
        self.secret_store = SecretStore.from_settings(settings.get("secrets"))
        # the playground: traces (tracing on), the page and its API (the dev flag); None when both are off
        self.playground: Playground | None = None
        recorder: Recorder | None = None
        playground = PlaygroundSettings.resolve(
            settings.get("playground"), self.build.project_root, dev=dev, trace=trace
        )
        if playground.tracing or playground.dev:
            from gati_runtime_min.playground import Playground

            self.playground = Playground(self, playground, with_telemetry=self.telemetry is not None)
            if playground.tracing:
                recorder = self.playground.recorder
        self._recorder = recorder
        self.gctx = GlobalContext(
            config=self.build.settings.get("config") or {},
            modules=self.modules,
            bus=self.state.bus,
            store=self.state,
            app=self.build.app,
            version=self.versions.current,
            versions=self.versions.known,
            manifest_hash=self.build.manifest_hash,
            timescape=Timescape(self.versions, self.state),
            deadlines=self.lifecycle.deadlines.live,  # a publish waits no longer than its request
            topics=self.build.topics,  # typed topics (topics.json): a publish by name is checked too
            secrets=Secrets(self.secret_store),
            metrics=self.telemetry.metrics if self.telemetry is not None else Metrics(None),
        )
        live = self.lifecycle.deadlines.live
        module_span: Callable[[str, str], AbstractContextManager[Mapping[str, str]]] | None = None
        if self.telemetry is not None:
            module_span = self.telemetry.module_call
        if recorder is not None:
            from gati_runtime_min.playground.recorder import both

            module_span = recorder.module_call if module_span is None else both(module_span, recorder.module_call)
        self.instances.update(
            instantiate(
                self.build.modules,
                self.build.project_root,
                self.build.validators,
                instances,
                deadline=lambda: live.get(asyncio.current_task()),  # type: ignore[arg-type]
                context=self._module_context,
                span=module_span,
            )
        )
        for module_id, instance in self.instances.items():
            in_process = not isinstance(instance, ProcessModule)  # a process module's client makes its own spans
            if module_span is not None and in_process:
                handles[module_id] = TracedModule(module_id, instance, module_span)
            else:
                handles[module_id] = instance
        declared = {r.handler_id: _declared_secrets(r) for r in routes}
        self._gctx_by_route = {
            r.handler_id: self.gctx.with_modules(
                self.modules.restrict(r.modules, r.handler_id),
                self.gctx.secrets.restrict(declared[r.handler_id], r.handler_id),
            )
            for r in routes
        }
        # the router's targets are per-route plans: hooks, policies and decoders decided once
        self.plans = {r.handler_id: self.lifecycle.plan(r, self._gctx_by_route[r.handler_id]) for r in routes}
        self.router: Router[RoutePlan] = Router((r.method, r.path, self.plans[r.handler_id]) for r in routes)
        self._new_id = self.ids.new
        if self.telemetry is not None:  # spans around each step, wrapped once here (none: plans unchanged)
            for plan in self.plans.values():
                self.telemetry.instrument(plan)
            self._new_id = self.telemetry.request_ids(self.ids.new)
            self.lifecycle.trace_local = self.telemetry.local_hook
        elif settings.get("secrets") is not None or any(declared.values()) or self.build.modules:
            # secret reads and refused module reaches name the request in their audit entries (`current.CURRENT`)
            for plan in self.plans.values():
                _bind_requests(plan)
        if recorder is not None:  # the playground's spans, around telemetry's if both are on
            for plan in self.plans.values():
                recorder.instrument(plan)
            outer = self.lifecycle.trace_local
            self.lifecycle.trace_local = (
                recorder.local_hook
                if outer is None
                else lambda h, kind, at: recorder.local_hook(outer(h, kind, at), kind, at)
            )
        self._resolve = self.router.resolve
        self._deadlines = self.lifecycle.deadlines
        self._live = self._deadlines.live
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop of the last request
        self._auth = self.auth.enabled
        self._decode_error = self.lifecycle.decode_error
        self._versioned = bool(self.versions.known)
        self._gated = self.versions.gated
        # Timescape: (handler, version) -> its transformer chain; only versions in `_gated` are looked up
        self._served = {k: v for k, v in self.build.serving.items() if k[0] in self.plans}
        if self.telemetry is not None:
            self._served = {k: self.telemetry.instrument_served(v) for k, v in self._served.items()}
        if recorder is not None:
            self._served = {k: recorder.instrument_served(v) for k, v in self._served.items()}
        self._served = {k: compiled(v) for k, v in self._served.items()}  # the transformers are final
        # (handler, version) -> (its version's extra headers, its chain) for each pair `gate` lets
        # through: one look-up per request of a gated version (the others raise in `gate`)
        self._open = self.versions.open_pairs(self.plans, self._served)
        self._outer = self.telemetry is not None or recorder is not None  # a span or a trace around each request
        self._max_digits = len(str(self.max_body_bytes))  # a shorter content-length is within the limit
        # `/openapi.json` and `/docs` (on unless `[tool.gati.docs]` or `GATI_DOCS` turn them off)
        self.docs = DocsEndpoints(self.build.build_dir, settings, self.build.app) if docs_enabled(settings) else None
        self.window = UsageWindow()  # requests per version in the last hour, for `/_gati/versions`
        self.ready = False
        self._started = False
        self._start_lock = asyncio.Lock()
        self._hangup: asyncio.AbstractEventLoop | None = None
        self._reloads: set[asyncio.Task[None]] = set()

    def _module_context(self, spec: ModuleSpec) -> GlobalContext:
        """The `gctx` of an in-process module: the modules and secrets its capabilities name
        (`module:<id>`, `secret:<name>`)."""
        allowed = frozenset(c.removeprefix("module:") for c in spec.capabilities if c.startswith("module:"))
        secrets = frozenset(c.removeprefix("secret:") for c in spec.capabilities if c.startswith("secret:"))
        owner = f"module:{spec.module_id}"
        return self.gctx.with_modules(self.modules.restrict(allowed, owner), self.gctx.secrets.restrict(secrets, owner))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._outer and scope["type"] == "http":
            if self.telemetry is not None and TRACED not in scope:
                await self.telemetry.serve(self, self._resolve, scope, receive, send)  # back here, in a span
                return
            if self._recorder is not None and RECORDED not in scope:
                await self._recorder.serve(self, scope, receive, send)  # back here, recorded
                return
        if scope["type"] != "http":
            await self._other(scope, receive, send)
            return
        # The request path, inline (no coroutine per step). The LCC's steps are `Lifecycle`'s:
        # before hooks (if any) → decode → handler → encode → after hooks (if any), all under the
        # route's deadline; on an error `Lifecycle.fail` runs the catch hooks and compensations.
        t0 = perf_counter()
        rid = self._new_id()
        method: str = scope["method"]
        path: str = scope["path"]
        if not self._started:
            await self.startup()
        if path.startswith("/_gati/"):
            pg = self.playground
            if pg is not None and pg.endpoints is not None and path.startswith("/_gati/playground"):
                await pg.endpoints(scope, receive, send)  # the dev flag is on
            else:
                await self._internal(path, rid, send)
            return
        hit = self._resolve(method, path)
        head = False
        if hit is None:
            if method == "HEAD":
                hit = self._resolve("GET", path)
                head = True
            if hit is None:
                if self.docs is not None and self.docs.serves(path) and method in ("GET", "HEAD"):
                    await self._serve_docs(scope, path, rid, send, t0)
                    return
                found = self.router.match(method, path)
                await self._unmatched(send, found.match, found.allow, method, path, rid, t0)
                return
        plan, params = hit
        raw: list[tuple[bytes, bytes]] = scope["headers"]
        hdrs = dict(raw)
        if len(hdrs) != len(raw):  # a repeated name: join the values
            hdrs = raw_headers(raw)
        client_addr = scope.get("client")
        client = client_addr[0] if client_addr else None
        qs: bytes = scope.get("query_string", b"")
        lctx: LocalContext | None = None
        lifecycle = self.lifecycle
        version: str | None = None
        extra: list[tuple[bytes, bytes]] | None = None  # Deprecation / Sunset / Link of the version
        served: ServedVersion | None = None  # an older version's shape: its transformers (`transform.py`)
        last: StepSpec | None = None  # the last upgrade that ran (its fault if the current decoders reject)
        try:
            user = self.auth.authenticate(Headers(hdrs)) if self._auth else None
            if plan.roles:
                check_roles(plan.roles, user)
            if plan.rate_limit is not None:
                who = (user.subject if user is not None else None) or client or "anonymous"
                if self.limiter is not None:
                    self.limiter.hit(who, plan.handler_id, *plan.rate_limit)
                else:
                    await self.state.hit(who, plan.handler_id, *plan.rate_limit)
            if self._versioned or b"x-gati-version" in hdrs or (qs and b"version=" in qs):
                version = self.versions.resolve(Headers(hdrs), qs)
                if self._outer:  # the request's spans name the version asked for, even when
                    # the request fails before its handler (an old version's body refused, say)
                    traced = CURRENT.get()
                    if traced is not None:
                        traced.version = version
                    recorded = ACTIVE.get()
                    if recorded is not None:
                        recorded.version = version
                if version in self._gated:  # deprecated, retired, or an older version
                    opened = self._open.get((plan.handler_id, version))
                    if opened is None:
                        extra = self.versions.gate(version, plan.handler_id)  # raises
                        served = self._served.get((plan.handler_id, version))
                    else:
                        extra, served = opened
            else:
                version = None  # no versions recorded and none asked for: the current one
            usage = self._usage  # Timescape usage per (handler, version); the backend shares it
            key = (plan.handler_id, version)
            usage[key] = usage.get(key, 0) + 1
            self._seen[version] = t0
            start = t0
            if plan.has_request or (served is not None and served.has_body):
                declared = hdrs.get(b"content-length")
                if declared is not None and len(declared) >= self._max_digits:
                    check_declared_length(hdrs, self.max_body_bytes)
                message = await receive()
                data = message.get("body", b"")
                if (
                    message["type"] == "http.request"
                    and not message.get("more_body", False)
                    and data
                    and hdrs.get(b"content-type") == b"application/json"
                    and len(data) <= self.max_body_bytes
                ):  # the common case, inline; anything else (and any error) the long way
                    try:
                        raw_body = _loads(data)
                    except ValueError:
                        raw_body = parse_json_body(hdrs, data, self.max_body_bytes)
                else:
                    raw_body = await json_body_from(message, hdrs, receive, self.max_body_bytes)
                start = perf_counter()  # the handler's time starts once the body is in
            else:
                raw_body = None
            raw_query = parse_query(qs) if qs else {}
            if served is not None and served.touches_request:  # the client's version checked, then upgraded
                raw_body, raw_query, params, hdrs, last = served.run_upgrade(  # type: ignore[misc]  # compiled
                    raw_body, raw_query, params, hdrs, rid
                )
            req = _request(raw_body, raw_query, params, hdrs, method, path, rid, client, user, raw_query)
            res: Response[Any] = Response(plan.status)
            lctx = _lctx(rid, path, version, head, t0)
            args = (req, res, lctx, plan.gctx)
            timeout = plan.timeout
            if timeout:  # `Deadlines.arm`, inline
                # The task running this request: the current task of the loop of the last request,
                # unless that loop is not running (None). `get_running_loop()` costs a getpid()
                # system call on Python 3.11, so it only runs for the first request on a loop. One
                # app serves on one event loop at a time (as `Deadlines` assumes).
                loop = self._loop
                task = _task_of(loop) if loop is not None else None
                if task is None:
                    loop = self._loop = _running_loop()
                    task = _task_of(loop)
                deadline = start + timeout
                self._live[task] = deadline
                if deadline < self._deadlines.horizon or self._deadlines.loop is not loop:
                    self._deadlines.schedule(deadline)
            else:
                task = None
            timed_out = False
            try:
                try:
                    if plan.before:
                        await lifecycle.before(plan, args, lctx)
                    if plan.body_only:  # the usual POST: the body decoder alone, inline
                        try:
                            req.body = plan.dec_body(raw_body)  # type: ignore[misc]
                        except self._decode_error as exc:
                            raise invalid_request("GATI511", exc, "$.body", last, rid) from None
                    elif plan.params_only:  # the usual GET by id: the params decoder alone, inline
                        try:
                            decoded = plan.dec_params(req.params)  # type: ignore[misc]
                        except self._decode_error as exc:
                            raise invalid_request("GATI513", exc, "$.params", last, rid) from None
                        if decoded is not None:
                            req.params = decoded
                    elif plan.decodes:
                        if last is None:
                            lifecycle.decode(plan, req, raw_body)
                        else:
                            decode_upgraded(lifecycle, plan, req, raw_body, last, rid)
                    events = lctx.events
                    events.append((perf_counter() - t0, "handler.start", plan.detail))
                    if plan.is_async:
                        await plan.fn(*args)
                    else:
                        await invoke(plan.fn, args, False)
                    events.append((perf_counter() - t0, "handler.end", plan.detail))
                    value = res._body
                    encode = plan.encode
                    body: bytes | None
                    if encode is not None and value is not _UNSET and 200 <= res._status < 300 and not res._empty:
                        try:  # the usual answer, inline: the generated encoder, then orjson
                            value = encode(value)
                        except self._decode_error as exc:
                            raise lifecycle.invalid_response(plan, exc) from None
                        if served is None:
                            try:
                                body = _dumps(value)
                            except TypeError:
                                body = lifecycle.dump(plan, value)
                        else:  # downgraded below, after the after hooks
                            body = None
                    else:
                        value = lifecycle.encoded(plan, res)
                        body = None if value is _UNSET else lifecycle.to_json(plan, value)
                    if plan.after or lctx._after:
                        await lifecycle.after(plan, args, lctx)
                finally:
                    if task is not None and self._live.pop(task, None) is None:  # `Deadlines.disarm`, inline
                        timed_out = self._deadlines.disarm(task)
                if timed_out:  # the handler swallowed the cancellation: still a timeout
                    raise asyncio.CancelledError
            except BaseException as exc:
                if served is not None and isinstance(exc, TransformerFault):
                    raise
                error = await lifecycle.fail(plan, exc, timed_out, task, req, args, lctx)
                if error is None:
                    raise
                if served is not None:  # in the client's version's error shape
                    error = downgraded_error(served, error, path, rid)
                raise error from None
            if served is not None and value is not _UNSET and 200 <= res._status < 300:
                body = lifecycle.to_json(plan, served.run_downgrade(value, rid))  # type: ignore[misc]  # compiled
        except ClientDisconnected:
            if _audit_on(_INFO):
                self._audit(rid, plan.handler_id, method, path, 499, t0, lctx)
            return
        except HTTPError as exc:
            if exc.status >= 500:  # per version, for the operator's rollback on a rising error rate
                errors = self._errors
                errors[version] = errors.get(version, 0) + 1
            await self._error(send, exc, path, rid, head, extra)
            if _audit_on(_INFO):
                self._audit(rid, plan.handler_id, method, path, exc.status, t0, lctx)
            return
        status = res._status
        if body is not None and res._headers is None and status not in NO_BODY_STATUS:  # the usual answer
            out = [_JSON, (b"x-request-id", rid.encode()), (b"content-length", str(len(body)).encode())]
        else:
            body, out = answer_headers(body, status, rid, res._headers)
        if extra:
            out.extend(extra)
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": b"" if head else body})
        if _audit_on(_INFO):
            self._audit(rid, plan.handler_id, method, path, status, t0, lctx)


def _declared_secrets(route: RouteSpec) -> frozenset[str]:
    return frozenset((route.manifest.get("dependencies") or {}).get("secrets") or ())


def _bind_requests(plan: RoutePlan) -> None:
    """The handler and hooks of `plan` run with `current.CURRENT` set, for the secrets' audit lines."""
    hid = plan.handler_id
    plan.fn = bind_request(plan.fn, plan.is_async, hid, 2)
    plan.is_async = True
    plan.before = tuple((h[0], bind_request(h[1], h[2], hid, 2), True, h[3], h[4]) for h in plan.before)
    plan.after = tuple((h[0], bind_request(h[1], h[2], hid, 2), True, h[3], h[4]) for h in plan.after)
    plan.catch = tuple((h[0], bind_request(h[1], h[2], hid, 3), True, h[3], h[4]) for h in plan.catch)


def _with_timeout(route: RouteSpec, timeout: float) -> RouteSpec:
    from dataclasses import replace

    return replace(route, timeout=route.manifest.get("policies", {}).get("timeout") or timeout)
