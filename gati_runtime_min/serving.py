"""`serve()`: run a build on uvicorn. `gatic serve` calls this."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Final

from gati_runtime_min.app import GatiApp
from gati_runtime_min.middleware import ASGIApp, build_asgi
from gati_runtime_min.state import StateError, per_worker_refusal

ENV_BUILD_DIR: Final = "GATI_BUILD_DIR"


def create_app() -> ASGIApp:
    """App factory for uvicorn workers and reload: reads the build folder from `GATI_BUILD_DIR`;
    the app comes wrapped in the middleware of its build settings (`cors`, `middleware`). `serve`
    reached the state store before starting them, so a worker that uvicorn starts (or replaces)
    while it is away starts not ready and waits for it, rather than failing, which would make
    uvicorn stop the whole server."""
    return build_asgi(GatiApp(os.environ[ENV_BUILD_DIR], wait_for_state=True))


def serve(
    build_dir: str | Path = ".gati",
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    reload: bool = False,
    log_level: str = "info",
    allow_per_worker_state: bool = False,
) -> None:
    """Serve the build in `build_dir` on uvicorn until interrupted.

    The build is loaded and checked here first, so a missing or corrupt build fails fast with a
    `ManifestError` naming the file, before any worker starts.

    Parameters:
        build_dir: the `.gati/` folder.
        host: the interface to bind.
        port: the TCP port.
        workers: worker processes (each loads the build itself).
        reload: restart on changes to the build or the app's sources (development).
        log_level: uvicorn's log level.
        allow_per_worker_state: start several workers on the memory state backend anyway.

    Raises:
        ManifestError: the build cannot be served.
        StateError: several workers on the memory backend without the opt-in, or the Redis
            backend is not reachable.
    """
    import logging.config

    import uvicorn

    logs = log_config(log_level)
    logging.config.dictConfig(logs)
    bdir = Path(build_dir).resolve()
    app = GatiApp(bdir)
    check_state(app, workers, allow_per_worker_state)
    asgi = build_asgi(app)  # fails fast, too, on a middleware that cannot be imported
    said = playground_line(app, host, port)
    if said is not None:
        logging.getLogger("gati.playground").info("%s", said)
    if workers <= 1 and not reload:
        uvicorn.run(asgi, host=host, port=port, log_level=log_level, log_config=logs, lifespan="on")
        return
    os.environ[ENV_BUILD_DIR] = str(bdir)
    roots = app.build.manifest.get("sourceRoots") or ["."]
    reload_dirs = [str(bdir), *(str(app.build.project_root / s) for s in roots)]
    uvicorn.run(
        "gati_runtime_min.serving:create_app",
        factory=True,
        host=host,
        port=port,
        workers=None if reload else workers,
        reload=reload,
        reload_dirs=reload_dirs if reload else None,
        log_level=log_level,
        log_config=logs,
        lifespan="on",
    )


def playground_line(app: GatiApp, host: str, port: int) -> str | None:
    """Where the playground is (dev flag on), or that requests are recorded (tracing alone); None
    when neither (`gatic serve` logs it, `gatic watch --serve` prints it)."""
    pg = app.playground
    if pg is None:
        return None
    where = f" to {pg.settings.store}" if pg.settings.store is not None else ""
    if pg.endpoints is not None:
        shown = f"[{host}]" if ":" in host else host
        return f"playground: http://{shown}:{port}/_gati/playground (requests recorded{where})"
    if pg.settings.tracing:
        return f"requests recorded for `gatic replay`{where} (GATI_TRACE)"
    return None


def log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's logging set-up, plus the runtime's own loggers (`gati.*`) on stderr at `level`:
    start-up lines such as where module isolation cannot be enforced, module output, state
    reconnections. The audit trail (`gati.audit`, a line per request, secret reads) stays at
    WARNING unless `GATI_AUDIT_LOG=1`: it is meant for a log pipeline that configures it."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["gati"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    audit = "INFO" if os.environ.get("GATI_AUDIT_LOG") == "1" else "WARNING"
    config["loggers"]["gati.audit"] = {"level": audit}
    return config


def check_state(app: GatiApp, workers: int, allow_per_worker_state: bool = False) -> None:
    """Refuse what would silently split the app's state; reach Redis once before any worker starts."""
    settings = app.state_settings
    if settings.backend == "memory":
        if workers > 1 and not (allow_per_worker_state or settings.allow_per_worker_state):
            raise StateError(per_worker_refusal(workers))
        return
    from gati_runtime_min.state.redis_state import check_reachable

    check_reachable(settings)
