"""The configuration's models: `GatiConfig` and its sections (`[tool.gati.*]`), frozen pydantic
models whose annotations are also what `config_check` checks user TOML against.

`gati_compiler.config` re-exports every public name here; import them from there.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from annotated_types import Ge, Gt, Le, MinLen
from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, model_validator

PYPROJECT: Final = "pyproject.toml"
GATI_TOML: Final = "gati.toml"
_PYPROJECT_PREFIX: Final = ("tool", "gati")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class JwtConfig(_Frozen):
    algorithms: tuple[Literal["HS256", "RS256"], ...] = Field(default=("HS256",), min_length=1)
    secret_env: Annotated[str, MinLen(1)] | None = None
    public_key_file: Annotated[str, MinLen(1)] | None = None
    audience: str | None = None
    issuer: str | None = None
    roles_claim: Annotated[str, MinLen(1)] = "roles"

    @property
    def enabled(self) -> bool:
        return self.secret_env is not None or self.public_key_file is not None


class ApiKeysConfig(_Frozen):
    header: Annotated[str, MinLen(1)] = "x-api-key"
    keys_env: Annotated[str, MinLen(1)] | None = None

    @property
    def enabled(self) -> bool:
        return self.keys_env is not None


class AuthConfig(_Frozen):
    jwt: JwtConfig = JwtConfig()
    api_keys: ApiKeysConfig = ApiKeysConfig()


class ServerConfig(_Frozen):
    max_body_bytes: Annotated[int, Gt(0)] = 1_048_576
    request_timeout: Annotated[float, Gt(0)] = 30.0


_QUANTITY: Final = r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$"
Quantity = Annotated[str, StringConstraints(pattern=_QUANTITY)]
DNS_LABEL: Final = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class DeployOverlay(_Frozen):
    """`[tool.gati.deploy.<env>]`: what one environment changes of `[tool.gati.deploy]`."""

    image: Annotated[str, MinLen(1)] | None = None
    replicas: Annotated[int, Ge(0)] | None = None
    max_replicas: Annotated[int, Ge(1)] | None = None
    namespace: Annotated[str, MinLen(1)] | None = None
    host: Annotated[str, MinLen(1)] | None = None
    cpu_request: Quantity | None = None
    cpu_limit: Quantity | None = None
    memory_request: Quantity | None = None
    memory_limit: Quantity | None = None


class DeployConfig(_Frozen):
    """`[tool.gati.deploy]`: the Kubernetes bundle. Sub-tables are environments (overlays)."""

    image: Annotated[str, MinLen(1)] | None = None  # `load_config` fills in "<name>:latest"
    replicas: Annotated[int, Ge(0)] = 1
    max_replicas: Annotated[int, Ge(1)] | None = None  # HPA ceiling; default 3 x replicas
    cpu_target: Annotated[int, Ge(1), Le(100)] = 70  # HPA average CPU utilisation, percent
    port: Annotated[int, Ge(1), Le(65535)] = 8000
    workers: Annotated[int, Ge(1)] = 1  # uvicorn workers per pod
    namespace: Annotated[str, MinLen(1)] | None = None
    cpu_request: Quantity = "100m"
    cpu_limit: Quantity = "1"
    memory_request: Quantity = "128Mi"
    memory_limit: Quantity = "512Mi"
    base_image: Annotated[str, MinLen(1)] = "python:3.12.8-slim-bookworm"  # exact tag or @sha256 digest
    ingress_class: Annotated[str, MinLen(1)] = "nginx"
    host: Annotated[str, MinLen(1)] | None = None
    gateway: Annotated[str, MinLen(1)] = "gati-gateway"  # the Gateway an HTTPRoute attaches to
    protected_labels: tuple[str, ...] = ("stable",)  # versions with these labels are never drained
    environments: dict[str, DeployOverlay] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _collect_environments(cls, data: Any) -> Any:
        """Sub-tables that are not keys of their own are environments: `[tool.gati.deploy.prod]`."""
        if not isinstance(data, dict):
            return data
        out = {k: v for k, v in data.items() if k in cls.model_fields}
        envs = dict(out.get("environments") or {})
        envs.update({k: v for k, v in data.items() if k not in cls.model_fields and isinstance(v, dict)})
        out.update({k: v for k, v in data.items() if k not in cls.model_fields and not isinstance(v, dict)})
        if envs:
            out["environments"] = envs
        return out


class StateConfig(_Frozen):
    """`[tool.gati.state]`: where the state shared by workers and replicas lives.

    `GATI_STATE_URL` in the environment wins over `url` at run time."""

    backend: Literal["memory", "redis"] = "memory"
    url: Annotated[str, MinLen(1)] | None = None  # redis:// or rediss://
    url_secret: Annotated[str, MinLen(1)] | None = None  # a secret (env var / file) holding the URL
    namespace: Annotated[str, MinLen(1)] | None = None  # key prefix; defaults to "gati:<app>:<environment>"
    allow_per_worker_state: bool = False  # opt in to several workers on the memory backend
    rate_limit_failure: Literal["closed", "open"] = "closed"  # while Redis is lost: 503, or admit
    stream_maxlen: Annotated[int, Ge(1)] = 10_000  # undelivered messages per topic before publishers wait
    claim_idle: Annotated[float, Gt(0)] = 30.0  # seconds before a crashed consumer's messages are redelivered


SECRET_NAME: Final = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$"  # a Kubernetes secret key; never `.`/`..`
_FACTORY: Final = r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_.]*$"


class SecretsConfig(_Frozen):
    """`[tool.gati.secrets]`: where `gctx.secrets.get(name)` looks, in `providers` order.

    `env` reads `<env_prefix><NAME>` (upper case, `-`/`.` as `_`), `file` one file per name in
    `directory` (a Kubernetes secret volume), `vault` the provider `vault` (`module:factory`)
    returns when called with `vault_options`. Values are cached `ttl` seconds."""

    providers: tuple[Literal["env", "file", "vault"], ...] = Field(default=("env",), min_length=1)
    env_prefix: str = ""
    directory: Annotated[str, MinLen(1)] = "/var/run/secrets/gati"
    ttl: Annotated[float, Ge(0)] = 30.0
    vault: Annotated[str, StringConstraints(pattern=_FACTORY)] | None = None
    vault_options: dict[str, JsonValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _vault_named(self) -> SecretsConfig:
        if "vault" in self.providers and self.vault is None:
            raise ValueError('the `vault` provider needs `vault = "package.module:factory"`')
        return self


class TelemetryConfig(_Frozen):
    """`[tool.gati.telemetry]`: OpenTelemetry traces and metrics (off unless `exporter` names one).

    `otlp` sends OTLP over HTTP to `endpoint` (`/v1/traces`, `/v1/metrics`; unset: the standard
    `OTEL_EXPORTER_OTLP_*` environment variables), `console` prints them (development)."""

    exporter: Literal["none", "console", "otlp"] = "none"
    endpoint: Annotated[str, MinLen(1)] | None = None
    service_name: Annotated[str, MinLen(1)] | None = None  # default: the app's name
    sample_ratio: Annotated[float, Ge(0), Le(1)] = 1.0  # share of new traces recorded
    metric_interval: Annotated[float, Gt(0)] = 60.0  # seconds between metric exports


class PlaygroundConfig(_Frozen):
    """`[tool.gati.playground]`: request traces, snapshots, replay and debug gates.

    The page (`/_gati/playground`) and its API are served only with the dev flag (`gatic serve
    --dev` or `GATI_DEV=1`), never from this file alone. Tracing is on with the dev flag, or on its
    own with `GATI_TRACE=1` (`GATI_TRACE=0` turns it off)."""

    capacity: Annotated[int, Ge(1)] = 1000  # traces kept in memory, newest first
    store: Annotated[str, MinLen(1)] | None = None  # a JSON Lines file (relative to the project) of every trace
    snapshots: bool | list[Annotated[str, MinLen(1)]] = False  # true: every route; or the handler ids that take them
    gate_timeout: Annotated[float, Gt(0)] = 60.0  # seconds a request waits at a debug gate
    max_body_bytes: Annotated[int, Ge(0)] = 65_536  # request and response bodies kept per trace


class DocsConfig(_Frozen):
    """`[tool.gati.docs]`: `GET /openapi.json` and the interactive page (`/docs`), served offline.

    On by default (development); set `enabled = false` for production, or `GATI_DOCS=0` in the
    server's environment, which wins over this file."""

    enabled: bool = True
    path: Annotated[str, MinLen(2)] = "/docs"
    openapi_path: Annotated[str, MinLen(2)] = "/openapi.json"


class CorsConfig(_Frozen):
    """`[tool.gati.cors]`: cross-origin requests from browsers, answered per the Fetch standard.

    Off until `allow_origins` lists an origin (`"*"` for any)."""

    allow_origins: tuple[Annotated[str, MinLen(1)], ...] = ()
    allow_methods: tuple[Annotated[str, MinLen(1)], ...] = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
    allow_headers: tuple[Annotated[str, MinLen(1)], ...] = ()  # `"*"`: whatever the browser asks for
    expose_headers: tuple[Annotated[str, MinLen(1)], ...] = ("x-request-id",)
    allow_credentials: bool = False
    max_age: Annotated[int, Ge(0)] = 600


class MiddlewareEntry(_Frozen):
    """One `[[tool.gati.middleware]]`: an ASGI middleware class (or factory) wrapped around the app.

    `factory` is `"package.module:Name"`, called as `Name(app, **options)` (Starlette's and most
    ASGI middleware take this form). The first entry is the outermost."""

    factory: Annotated[str, MinLen(3)]
    options: dict[str, JsonValue] = Field(default_factory=dict)


class AcceptedBreak(_Frozen):
    """One `[[tool.gati.timescape.accept]]` entry: a known break that CI lets through."""

    rule: Annotated[str, MinLen(1)]  # a catalogue rule id (`request-property-removed`) or `*`
    handler: Annotated[str, MinLen(1)] = "*"  # a handler id, or `*` for every handler
    reason: Annotated[str, MinLen(1)]
    expires: date | None = None  # after this day the acceptance is an error


class TimescapeConfig(_Frozen):
    """`[tool.gati.timescape]`: how versions are recorded and which breaks CI accepts."""

    lock: Annotated[str, MinLen(1)] = "timescape.lock"  # relative to the project root
    auto_record: bool = False  # record a version on every successful build (development only)
    fail_on: Literal["ERR", "WARN"] = "ERR"
    categories: tuple[Literal["WIRE", "SDK", "POLICY"], ...] = ("WIRE", "POLICY")
    accept: tuple[AcceptedBreak, ...] = ()
    # where `gatic transformers write` puts new files (default: `<source root>/<package>/transformers`)
    transformers: Annotated[str, MinLen(1)] | None = None
    # `/_gati/versions`: a version is hot at this many requests per hour, warm from the second
    # threshold up, cold below it (the runtime reads them from `settings.timescape`)
    hot_requests_per_hour: Annotated[float, Ge(0)] = 60.0
    warm_requests_per_hour: Annotated[float, Ge(0)] = 1.0


class GatiConfig(_Frozen):
    """The validated configuration of one project.

    `project_dir` and `config_file` are filled in by `load_config`; they are not user keys.
    `config_file` is the POSIX name of the file the settings came from, or `None` for defaults.
    """

    project_dir: Path
    config_file: str | None = None
    app_version: str | None = None  # `[project].version` of `pyproject.toml` (OpenAPI `info.version`)
    name: Annotated[str, MinLen(1)]
    sources: tuple[str, ...] = (".",)
    out: Annotated[str, MinLen(1)] = ".gati"
    exclude: tuple[str, ...] = ()
    global_hooks: tuple[str, ...] = ()
    auth: AuthConfig = AuthConfig()
    server: ServerConfig = ServerConfig()
    deploy: DeployConfig = DeployConfig()
    timescape: TimescapeConfig = TimescapeConfig()
    state: StateConfig = StateConfig()
    secrets: SecretsConfig = SecretsConfig()
    telemetry: TelemetryConfig = TelemetryConfig()
    docs: DocsConfig = DocsConfig()
    playground: PlaygroundConfig = PlaygroundConfig()
    cors: CorsConfig = CorsConfig()
    middleware: tuple[MiddlewareEntry, ...] = ()
    config: dict[str, JsonValue] = Field(default_factory=dict)

    @property
    def source_dirs(self) -> tuple[Path, ...]:
        return tuple(self.project_dir / s for s in self.sources)

    @property
    def out_dir(self) -> Path:
        return self.project_dir / self.out


_INTERNAL_FIELDS: Final = frozenset({"project_dir", "config_file", "app_version"})
