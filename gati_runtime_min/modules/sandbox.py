"""Egress isolation of module processes, and the parent-death guard that keeps them from outliving us.

A module that declares no egress runs in its own user + network namespace
(`unshare --user --map-root-user --net`): its only interface is a loopback that is down, so it
cannot connect anywhere, not even to 127.0.0.1 on the host. A module that declares egress runs with
the host network; the per-host list is handed to it (`GATI_MODULE_EGRESS`) but the kernel does not
filter by host. Where unprivileged namespaces are unavailable, the module runs with the host network
and a WARNING says so at start-up.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import shutil
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from gati_runtime_min.current import audit

_LOG: Final = logging.getLogger("gati.modules")

UNSHARE_ARGS: Final = ("--user", "--map-root-user", "--net", "--")


@dataclass(frozen=True, slots=True)
class Isolation:
    """Whether this platform can put a process in its own network namespace, and why not."""

    available: bool
    reason: str
    unshare: str = ""


_probed: Isolation | None = None


async def probe() -> Isolation:
    """Run `unshare -rn true` once per process and remember the answer."""
    global _probed
    if _probed is not None:
        return _probed
    binary = shutil.which("unshare")
    if not sys.platform.startswith("linux"):
        _probed = Isolation(False, f"network namespaces need Linux (this is {sys.platform})")
    elif binary is None:
        _probed = Isolation(False, "the `unshare` program (util-linux) is not installed")
    else:
        proc = await asyncio.create_subprocess_exec(
            binary, "-rn", "true", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        _, err = await proc.communicate()
        if proc.returncode == 0:
            _probed = Isolation(True, "", binary)
        else:
            detail = err.decode(errors="replace").strip() or f"exit status {proc.returncode}"
            _probed = Isolation(False, f"`unshare -rn true` failed: {detail}")
    return _probed


def set_probe(isolation: Isolation | None) -> None:
    """Override (or with None, forget) the probe's answer: tests use it to play a platform without namespaces."""
    global _probed
    _probed = isolation


def plan(module_id: str, argv: Sequence[str], egress: Sequence[str], isolation: Isolation) -> tuple[list[str], bool]:
    """The argv to run and whether it is network-isolated; logs the start-up line that says which."""
    if egress:
        _LOG.info(
            "module %r declares egress %s: it runs with the host network; per-host filtering is NOT "
            "enforced at the kernel level (the list is passed to it in %s)",
            module_id,
            ", ".join(egress),
            "GATI_MODULE_EGRESS",
        )
        return list(argv), False
    if isolation.available:
        _LOG.info("module %r declares no egress: it runs in its own network namespace (no network at all)", module_id)
        return [isolation.unshare, *UNSHARE_ARGS, *argv], True
    _LOG.warning(
        "module %r declares no egress but cannot be isolated (%s): it runs with the host network and "
        "outbound connections are NOT blocked",
        module_id,
        isolation.reason,
    )
    return list(argv), False


def audit_refused(module_id: str, capability: str, detail: str, request_id: str = "") -> None:
    """An audit entry for a capability a module used without declaring it."""
    entry = {
        "event": "capability.refused",
        "requestId": request_id,
        "moduleId": module_id,
        "capability": capability,
        "detail": detail,
    }
    audit(logging.WARNING, entry)


def _parent_death_guard() -> Callable[[], None] | None:
    """A `preexec_fn` asking Linux to SIGKILL the child when its parent dies (`PR_SET_PDEATHSIG`).

    This is what keeps module processes from outliving a server that is killed outright; a clean
    stop (SIGTERM included, through the app's shutdown) stops them by PID first."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):  # pragma: no cover - every Linux libc has prctl
        return None
    pr_set_pdeathsig = 1
    sigkill = int(signal.SIGKILL)

    def guard() -> None:
        prctl(pr_set_pdeathsig, sigkill, 0, 0, 0)

    return guard


PARENT_DEATH_GUARD: Final = _parent_death_guard()


def note_in_process(module_id: str, egress: Sequence[str]) -> None:
    """The start-up line of an in-process Python module: it cannot be network-isolated."""
    declared = f"declares egress {', '.join(egress)}" if egress else "declares no egress"
    _LOG.info(
        "module %r runs in-process and %s: in-process Python modules share the server's network and "
        "cannot be isolated (give it command=[...] to run it out of process in its own network namespace)",
        module_id,
        declared,
    )
