"""Secrets: `await gctx.secrets.get("db_password")` from pluggable providers, audited and declared.

```python
@handler("POST", "/charge", secrets=["stripe_key"])
async def charge(req, res, lctx, gctx):
    key = await gctx.secrets.get("stripe_key")   # a `Secret`; `str(key)` is "***"
    client = Stripe(key.reveal())                # the value, only when asked for by name
```

Providers are tried in the configured order (`[tool.gati.secrets] providers`); the first that has
the name answers. A provider that fails (a vault that does not answer) stops the search: the
read fails with GATI546 rather than falling through to a lower-priority source. Values are cached
for `ttl` seconds per name. Every read is a line on the `gati.audit` logger with the request id,
handler id, name, provider and outcome, never the value. A handler reads only the names its
manifest declares (`@handler(..., secrets=[...])`); any other name is GATI545.

`get` is async because a vault provider answers over the network; the environment and file
providers answer without waiting.
"""

from __future__ import annotations

import hmac
import importlib
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, NoReturn, Protocol, runtime_checkable

from gati_runtime_min.current import AUDIT, CURRENT, RequestInfo, audit
from gati_runtime_min.errors import GatiError, ManifestError

_LOG: Final = logging.getLogger("gati.runtime")
MASK: Final = "***"
DEFAULT_TTL: Final = 30.0
# Kubernetes secret keys: letters, digits, `-`, `_`, `.`; never `.` or `..` alone (no path escapes)
NAME: Final = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$")


class Secret:
    """A secret value that does not show itself: `repr`, `str`, formatting and logging give `***`,
    JSON encoders refuse it (it is no `str`), pickling refuses it. `reveal()` gives the value."""

    __slots__ = ("__value", "name")

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self.__value = value

    def reveal(self) -> str:
        """The value. Pass it straight to what needs it; do not store it in state or logs."""
        return self.__value

    def __repr__(self) -> str:
        return f"Secret({self.name!r}, {MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:  # constant time, so a comparison leaks no prefix
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self.__value.encode(), other.__value.encode())

    def __hash__(self) -> int:  # equal values must hash alike, and the hash must not depend on the value
        return hash(Secret)

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"secret {self.name!r} cannot be pickled")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self


class SecretError(GatiError):
    """GATI545 (the handler does not declare the name) or GATI546 (missing, or provider down);
    `outcome` is the audit's word for it."""

    def __init__(self, code: str, message: str, outcome: str) -> None:
        super().__init__(code, message)
        self.outcome = outcome


class ProviderUnavailable(Exception):
    """Raised by a provider that cannot answer now (a vault that is down); GATI546 to the client."""


@runtime_checkable
class SecretProvider(Protocol):
    """A source of secrets. `fetch` returns the value, None when the provider does not have the
    name, and raises (`ProviderUnavailable` or anything else) when it cannot answer."""

    name: str

    async def fetch(self, key: str) -> str | None: ...


class EnvProvider:
    """`<prefix><NAME>` from the environment: the name upper-cased, `-` and `.` as `_`."""

    name = "env"

    def __init__(self, prefix: str = "", environ: Mapping[str, str] | None = None) -> None:
        self.prefix = prefix
        self.environ = os.environ if environ is None else environ

    def variable(self, key: str) -> str:
        return self.prefix + key.upper().replace("-", "_").replace(".", "_")

    async def fetch(self, key: str) -> str | None:
        return self.environ.get(self.variable(key))


class FileProvider:
    """One file per name in `directory` (a Kubernetes secret volume); one trailing newline dropped."""

    name = "file"

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    async def fetch(self, key: str) -> str | None:
        path = self.directory / key  # `key` matched `NAME`: no separators, never `.`/`..`
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ProviderUnavailable(f"cannot read {path}: {exc.strerror or exc}") from None
        if text.endswith("\r\n"):
            return text[:-2]
        return text[:-1] if text.endswith("\n") else text


class MemoryProvider:
    """Values given in code: tests (`run_handler(..., secrets={...})`) and local experiments."""

    name = "memory"

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)

    async def fetch(self, key: str) -> str | None:
        return self.values.get(key)


ProviderFactory = Callable[[Mapping[str, Any]], SecretProvider]


def load_factory(spec: str) -> ProviderFactory:
    """`package.module:factory` imported; the factory takes the `vault_options` table."""
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise ManifestError("manifest.json", f"secrets vault {spec!r} is not of the form `module:factory`")
    try:
        factory = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ManifestError("manifest.json", f"secrets vault {spec!r} cannot be imported: {exc}") from exc
    if not callable(factory):
        raise ManifestError("manifest.json", f"secrets vault {spec!r} is not callable")
    return factory  # type: ignore[no-any-return]


class SecretStore:
    """The app's providers and cache. `Secrets` (what `gctx.secrets` is) reads through it."""

    def __init__(
        self, providers: Sequence[SecretProvider], ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.providers = tuple(providers)
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[str, tuple[float, Secret, str]] = {}
        # told each value a provider hands out (the playground's redactor learns them, `observe`)
        self._observers: tuple[Callable[[str], None], ...] = ()

    def observe(self, callback: Callable[[str], None]) -> None:
        """Call `callback(value)` for each secret value read from now on, and once for each one
        cached now: the playground redacts those values wherever they turn up in a request."""
        self._observers = (*self._observers, callback)
        for _, secret, _ in list(self._cache.values()):
            callback(secret.reveal())

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> SecretStore:
        """From the build's `settings.secrets` (absent: the environment, no prefix, 30 s)."""
        s = settings or {}
        providers: list[SecretProvider] = []
        for kind in s.get("providers") or ("env",):
            if kind == "env":
                providers.append(EnvProvider(str(s.get("envPrefix") or "")))
            elif kind == "file":
                providers.append(FileProvider(str(s.get("directory") or "/var/run/secrets/gati")))
            elif kind == "vault":
                spec = s.get("vault")
                if not spec:
                    raise ManifestError("manifest.json", "secrets provider `vault` needs `vault = 'module:factory'`")
                provider = load_factory(str(spec))(dict(s.get("vaultOptions") or {}))
                if not isinstance(provider, SecretProvider):
                    raise ManifestError("manifest.json", f"secrets vault {spec!r} did not return a provider")
                providers.append(provider)
            else:
                raise ManifestError("manifest.json", f"unknown secrets provider {kind!r}")
        ttl = s.get("ttl")
        return cls(providers, DEFAULT_TTL if ttl is None else float(ttl))

    def invalidate(self, name: str | None = None) -> None:
        """Forget one cached name (or all): the next read asks the providers again."""
        if name is None:
            self._cache.clear()
        else:
            self._cache.pop(name, None)

    async def read(self, name: str) -> tuple[Secret, str]:
        """The secret and the provider that had it; `SecretError` GATI546 if none has it."""
        now = self.clock()
        hit = self._cache.get(name)
        if hit is not None and hit[0] > now:
            return hit[1], hit[2]
        for provider in self.providers:
            try:
                value = await provider.fetch(name)
            except Exception as exc:
                _LOG.warning("secret provider %s failed for %r: %s", provider.name, name, type(exc).__name__)
                raise SecretError(
                    "GATI546", f"secret provider {provider.name!r} is unavailable", "unavailable"
                ) from None
            if value is not None:
                for observer in self._observers:
                    observer(value)
                secret = Secret(name, value)
                if self.ttl > 0:
                    self._cache[name] = (now + self.ttl, secret, provider.name)
                return secret, provider.name
        raise SecretError("GATI546", f"secret {name!r} is not set in any provider", "missing")


class Secrets:
    """`gctx.secrets`: the secrets one handler may read (`allowed`; None: any, outside handlers)."""

    __slots__ = ("_allowed", "_owner", "_store")

    def __init__(self, store: SecretStore, allowed: frozenset[str] | None = None, owner: str = "") -> None:
        self._store = store
        self._allowed = allowed
        self._owner = owner

    def restrict(self, allowed: frozenset[str], owner: str) -> Secrets:
        return Secrets(self._store, allowed, owner)

    @property
    def store(self) -> SecretStore:
        return self._store

    async def get(self, name: str) -> Secret:
        """The secret `name`: GATI545 if the handler does not declare it, GATI546 if no provider has it."""
        info = CURRENT.get()
        if self._allowed is not None and name not in self._allowed:
            _audit(info, self._owner, name, None, "refused")
            raise SecretError("GATI545", f"handler {self._owner!r} does not declare secret {name!r}", "refused")
        if not NAME.match(name):
            _audit(info, self._owner, name, None, "invalid-name")
            raise SecretError("GATI546", f"{name!r} is not a secret name", "invalid-name")
        try:
            secret, provider = await self._store.read(name)
        except SecretError as exc:
            _audit(info, self._owner, name, None, exc.outcome)
            raise
        _audit(info, self._owner, name, provider, "read")
        return secret


def _audit(info: RequestInfo | None, owner: str, name: str, provider: str | None, outcome: str) -> None:
    # a read is part of the audit trail (INFO); a refusal or a failure is worth a WARNING, which
    # `gatic serve` keeps even while the trail is off (`GATI_AUDIT_LOG`)
    level = logging.INFO if outcome == "read" else logging.WARNING
    if not AUDIT.isEnabledFor(level):  # nothing to build the entry for
        return
    module = owner.removeprefix("module:") if owner.startswith("module:") else None
    entry = {
        "event": "secret.access",
        "requestId": info.request_id if info is not None else None,
        "handlerId": (info.handler_id if info is not None else None) or (None if module else owner or None),
        "secret": name,
        "provider": provider,
        "outcome": outcome,
    }
    if module is not None:  # an in-process module read it (in the request of `handlerId`, if any)
        entry["moduleId"] = module
    audit(level, entry)


def bind_request(fn: Callable[..., Any], is_async: bool, handler_id: str, at: int) -> Callable[..., Awaitable[None]]:
    """`fn` (a handler or hook; `lctx` is its argument `at`) run with `CURRENT` naming its request,
    for the audit lines of the secrets it reads. Only routes of apps that use secrets are wrapped."""
    from gati_runtime_min.lifecycle import invoke

    async def bound(*args: Any) -> None:
        lctx = args[at]
        token = CURRENT.set(RequestInfo(lctx._rid, handler_id, lctx._version))
        try:
            if is_async:
                await fn(*args)
            else:
                await invoke(fn, args, False)
        finally:
            CURRENT.reset(token)

    bound.__qualname__ = getattr(fn, "__qualname__", "bound")
    bound.__wrapped__ = fn  # type: ignore[attr-defined]
    return bound
