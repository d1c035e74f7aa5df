"""The `--serve` half of `gatic watch`: uvicorn in a thread of the watch process.

No child process, so nothing can outlive the watcher; the socket is closed when the thread's
server stops. The app is `gati_runtime_min.hotswap.HotSwapApp`, which takes each good build
without a restart.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from gati_runtime_min.hotswap import HotSwapApp


class ServerThread:
    def __init__(self, build_dir: Path, host: str, port: int) -> None:
        import uvicorn

        self.app = HotSwapApp(build_dir)
        config = uvicorn.Config(self.app, host=host, port=port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="gati-serve", daemon=True)

    def start(self, timeout: float = 30.0) -> bool:
        """Start serving; True once the socket is bound, False if the server failed to start."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server.started:
                return True
            if not self.thread.is_alive():
                return False
            time.sleep(0.01)
        return False

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, let requests in flight finish, close the socket and join the thread."""
        self.server.should_exit = True
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(timeout)
