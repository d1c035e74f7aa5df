"""Shared pieces of the out-of-process module tests: the example modules and a process checker."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gati_runtime_min.modules import MethodPolicy, MethodSpec, ProcessModule

ROOT = Path(__file__).resolve().parents[4]
FIXTURES = ROOT / "tests" / "fixtures" / "modules"
COMMANDS: dict[str, list[str]] = {
    "python": [sys.executable, str(FIXTURES / "pymod.py")],
    "node": ["node", str(FIXTURES / "nodemod.mjs")],
}
LANGUAGES = sorted(COMMANDS)


def methods(**policies: MethodPolicy) -> dict[str, MethodSpec | MethodPolicy]:
    """The example modules' methods, with parameter names so positional calls work."""
    specs: dict[str, MethodSpec | MethodPolicy] = {
        "echo": MethodSpec(params=("value",)),
        "add": MethodSpec(params=("a", "b")),
        "pid": MethodSpec(params=()),
        "sleep": MethodSpec(params=("ms",)),
        "crash": MethodSpec(params=("code",)),
        "fail": MethodSpec(params=("message",)),
        "refuse": MethodSpec(params=()),
        "connect": MethodSpec(params=("port",)),
        "shout": MethodSpec(params=("text",)),
        "odd": MethodSpec(params=()),
    }
    for name, policy in policies.items():
        old = specs[name]
        assert isinstance(old, MethodSpec)
        specs[name] = MethodSpec(policy=policy, params=old.params)
    return specs


def module(language: str, module_id: str = "ex", **options: Any) -> ProcessModule:
    policies = options.pop("policies", {})
    return ProcessModule(module_id, COMMANDS[language], cwd=ROOT, methods=methods(**policies), **options)


def alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in {"Z", "X"}


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[1]) == pid and fields[0] not in {"Z", "X"}:
                found.append(int(entry.name))
    return found


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@contextmanager
def tcp_server() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP server on 127.0.0.1 (a free port) recording what each connection sends."""
    received: list[bytes] = []
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(0.1)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                received.append(conn.recv(100))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1], received
    finally:
        stop.set()
        thread.join()
        sock.close()


def kill9(pid: int) -> None:
    os.kill(pid, 9)
