"""Project configuration: `[tool.gati]` in `pyproject.toml`, or the top level of `gati.toml`.

Input: a project folder. Output: a frozen `GatiConfig`, or `None` with diagnostics (GATI001-005)
that point at the real line and column of the offending key or value. This module and
`discover` are the only stages that read the disk; it never imports user code.

The models live in `config_models` (re-exported here), the reading and checking with positions
in `config_check`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import JsonValue, ValidationError

from gati_compiler.config_check import _Checker, _is_dir, _read_toml, _TomlFile
from gati_compiler.config_models import (
    _PYPROJECT_PREFIX,
    DNS_LABEL,
    GATI_TOML,
    PYPROJECT,
    AcceptedBreak,
    ApiKeysConfig,
    AuthConfig,
    CorsConfig,
    DeployConfig,
    DeployOverlay,
    DocsConfig,
    GatiConfig,
    JwtConfig,
    MiddlewareEntry,
    PlaygroundConfig,
    SecretsConfig,
    ServerConfig,
    StateConfig,
    TelemetryConfig,
    TimescapeConfig,
)
from gati_compiler.diagnostics import codes
from gati_compiler.diagnostics.model import DiagnosticSink, Span

__all__ = [
    "DNS_LABEL",
    "GATI_TOML",
    "PYPROJECT",
    "AcceptedBreak",
    "ApiKeysConfig",
    "AuthConfig",
    "CorsConfig",
    "DeployConfig",
    "DeployOverlay",
    "DocsConfig",
    "GatiConfig",
    "JwtConfig",
    "MiddlewareEntry",
    "PlaygroundConfig",
    "SecretsConfig",
    "ServerConfig",
    "StateConfig",
    "TelemetryConfig",
    "TimescapeConfig",
    "load_config",
    "settings_for_runtime",
]


def load_config(project_dir: Path, sink: DiagnosticSink, files: Mapping[str, bytes] | None = None) -> GatiConfig | None:
    """Read and validate the configuration of the project in `project_dir`.

    Settings come from `gati.toml` (the whole file) or `[tool.gati]` in `pyproject.toml`;
    giving settings in both is an error (GATI005) rather than a silent precedence rule.
    Neither file present means all defaults.

    `files` (POSIX relative path → bytes) stands for the project folder when given: the sources
    at a git ref that `gatic check --against` analyses without a checkout.

    Returns:
        The config, or `None` when an error diagnostic was reported to `sink`.
    """
    pyproject = _read_toml(project_dir, PYPROJECT, sink, files)
    gati_toml = _read_toml(project_dir, GATI_TOML, sink, files)
    if (pyproject is not None and pyproject.failed) or (gati_toml is not None and gati_toml.failed):
        return None

    project_name: str | None = None
    app_version: str | None = None
    tool_table: dict[str, Any] | None = None
    if pyproject is not None:
        project = pyproject.data.get("project")
        if isinstance(project, dict) and isinstance(project.get("name"), str):
            project_name = project["name"]
        if isinstance(project, dict) and isinstance(project.get("version"), str):
            app_version = project["version"]
        tool = pyproject.data.get("tool")
        if isinstance(tool, dict) and "gati" in tool:
            tool_table = tool["gati"]

    source: _TomlFile | None = None
    prefix: tuple[str, ...] = ()
    data: Any = {}
    if gati_toml is not None and tool_table is not None and pyproject is not None:
        sink.emit(
            codes.CONFIG_DUPLICATE,
            "settings are given in both `gati.toml` and `[tool.gati]` of `pyproject.toml`",
            pyproject.locator.key_span(_PYPROJECT_PREFIX),
            notes=("`gati.toml` would silently win or lose; gati does not guess",),
            help="keep the settings in one file",
        )
        return None
    if gati_toml is not None:
        source, data = gati_toml, gati_toml.data
    elif pyproject is not None and tool_table is not None:
        source, prefix, data = pyproject, _PYPROJECT_PREFIX, tool_table

    checker = _Checker(source, prefix, sink)
    if source is not None:
        if not isinstance(data, dict):
            checker.error_type((), "a table", data)
            return None
        checker.check_model(data, GatiConfig, ())
        if checker.failed:
            return None
    values: dict[str, Any] = dict(data)
    values.setdefault("name", project_name or project_dir.resolve().name)
    values["project_dir"] = project_dir
    values["config_file"] = source.name if source is not None else None
    values["app_version"] = app_version
    try:
        cfg = GatiConfig.model_validate(values)
    except ValidationError as exc:  # the checker should have caught it; report, never crash
        for err in exc.errors():
            where = tuple(str(p) for p in err["loc"])
            checker.error(where, f"`{'.'.join(where)}`: {err['msg'][:1].lower()}{err['msg'][1:]}")
        return None
    _warn_memory_state(cfg, checker, sink)
    if cfg.deploy.image is None:
        deploy = cfg.deploy.model_copy(update={"image": f"{cfg.name.lower()}:latest"})
        cfg = cfg.model_copy(update={"deploy": deploy})

    ok = True
    for index, src in enumerate(cfg.sources):
        if not _is_dir(project_dir, src, files):
            ok = False
            span = checker.value_span(("sources", f"[{index}]")) if source else Span.point(".")
            sink.emit(
                codes.SOURCES_MISSING,
                f"source folder `{src}` does not exist",
                span,
                help="`sources` lists folders relative to the project folder",
            )
    return cfg if ok else None


def _warn_memory_state(cfg: GatiConfig, checker: _Checker, sink: DiagnosticSink) -> None:
    """Several replicas on the memory state backend each keep their own state: say so (GATI006)."""
    if cfg.state.backend != "memory":
        return
    scaled: list[tuple[tuple[str, ...], int, str]] = [(("deploy", "replicas"), cfg.deploy.replicas, "")]
    scaled += [
        (("deploy", env, "replicas"), o.replicas, f" in environment `{env}`")
        for env, o in sorted(cfg.deploy.environments.items())
        if o.replicas is not None
    ]
    for where, replicas, context in scaled:
        if replicas > 1:
            sink.emit(
                codes.DEPLOY_MEMORY_STATE,
                f"{replicas} replicas{context} with the memory state backend: each replica keeps its own"
                " sessions, rate limits and counters",
                checker.value_span(where),
                help='set `[tool.gati.state] backend = "redis"` with `url_secret`, or one replica',
            )


def settings_for_runtime(cfg: GatiConfig) -> dict[str, JsonValue]:
    """The `settings` object of `manifest.json`: auth, server, state, the Timescape usage
    thresholds and the free `config` table.

    Keys are camelCase like the rest of the manifest. Secrets are never copied: only the names
    of the environment variables (and the key file path) that hold them. A disabled auth scheme
    (no secret source configured) is `null`.
    """
    jwt = cfg.auth.jwt
    keys = cfg.auth.api_keys
    jwt_settings: JsonValue = None
    if jwt.enabled:
        jwt_settings = {
            "algorithms": list(jwt.algorithms),
            "secretEnv": jwt.secret_env,
            "publicKeyFile": jwt.public_key_file,
            "audience": jwt.audience,
            "issuer": jwt.issuer,
            "rolesClaim": jwt.roles_claim,
        }
    keys_settings: JsonValue = None
    if keys.enabled:
        keys_settings = {"header": keys.header.lower(), "keysEnv": keys.keys_env}
    return {
        "auth": {"jwt": jwt_settings, "apiKeys": keys_settings},
        "server": {"maxBodyBytes": cfg.server.max_body_bytes, "requestTimeout": cfg.server.request_timeout},
        "state": _state_settings(cfg.state),
        "timescape": {
            "hot": cfg.timescape.hot_requests_per_hour,
            "warm": cfg.timescape.warm_requests_per_hour,
        },
        "appVersion": cfg.app_version,
        **_http_settings(cfg),
        **_service_settings(cfg),
        "config": dict(cfg.config),
    }


def _service_settings(cfg: GatiConfig) -> dict[str, JsonValue]:
    """`secrets`, `telemetry` and `playground`, only when their tables are written (the runtime's defaults
    otherwise). Secret values are never copied: only where to look for them."""
    out: dict[str, JsonValue] = {}
    if "secrets" in cfg.model_fields_set:
        s = cfg.secrets
        out["secrets"] = {
            "providers": list(s.providers),
            "envPrefix": s.env_prefix,
            "directory": s.directory,
            "ttl": s.ttl,
            "vault": s.vault,
            "vaultOptions": dict(s.vault_options),
        }
    if "telemetry" in cfg.model_fields_set:
        t = cfg.telemetry
        out["telemetry"] = {
            "exporter": t.exporter,
            "endpoint": t.endpoint,
            "serviceName": t.service_name,
            "sampleRatio": t.sample_ratio,
            "metricInterval": t.metric_interval,
        }
    if "playground" in cfg.model_fields_set:
        p = cfg.playground
        out["playground"] = {
            "capacity": p.capacity,
            "store": p.store,
            "snapshots": p.snapshots if isinstance(p.snapshots, bool) else list(p.snapshots),
            "gateTimeout": p.gate_timeout,
            "maxBodyBytes": p.max_body_bytes,
        }
    return out


def _state_settings(state: StateConfig) -> dict[str, JsonValue]:
    """`settings.state`: the backend and its options. A URL is copied as written (prefer
    `url_secret`, the name of an environment variable, for URLs that carry a password)."""
    return {
        "backend": state.backend,
        "url": state.url,
        "urlSecret": state.url_secret,
        "namespace": state.namespace,
        "allowPerWorkerState": state.allow_per_worker_state,
        "rateLimitFailure": state.rate_limit_failure,
        "streamMaxlen": state.stream_maxlen,
        "claimIdle": state.claim_idle,
    }


def _http_settings(cfg: GatiConfig) -> dict[str, JsonValue]:
    """`docs`, and `cors` / `middleware` only when configured (what wraps the app at run time)."""
    docs = cfg.docs
    out: dict[str, JsonValue] = {
        "docs": {"enabled": docs.enabled, "path": docs.path, "openapiPath": docs.openapi_path},
    }
    cors = cfg.cors
    if cors.allow_origins:
        out["cors"] = {
            "allowOrigins": list(cors.allow_origins),
            "allowMethods": [m.upper() for m in cors.allow_methods],
            "allowHeaders": [h.lower() for h in cors.allow_headers],
            "exposeHeaders": [h.lower() for h in cors.expose_headers],
            "allowCredentials": cors.allow_credentials,
            "maxAge": cors.max_age,
        }
    if cfg.middleware:
        out["middleware"] = [{"factory": m.factory, "options": dict(m.options)} for m in cfg.middleware]
    return out
