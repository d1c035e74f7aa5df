"""The Redis backend against a real redis-server: several `RedisState` instances in one test are
several workers (each has its own connection pool), exactly as uvicorn's worker processes are."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from gati_runtime_min.errors import GatiError
from gati_runtime_min.state import StateError, StateSettings
from gati_runtime_min.state.redis_state import RedisState

pytestmark = pytest.mark.timeout(60)


def settings(url: str, **kw: Any) -> StateSettings:
    base: dict[str, Any] = {"backend": "redis", "url": url, "namespace": "gati:test:default"}
    base.update(kw)
    return StateSettings(**base)


async def workers(url: str, n: int, **kw: Any) -> list[RedisState]:
    out = [RedisState(settings(url, **kw), "v1") for _ in range(n)]
    for w in out:
        await w.start()
    return out


async def close_all(states: list[RedisState]) -> None:
    for s in states:
        await s.close()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def admitted(state: RedisState, client: str, handler: str, limit: int, window: float) -> bool:
    try:
        await state.hit(client, handler, limit, window)
    except GatiError as exc:
        assert exc.code == "GATI532" and exc.status == 429
        assert int(exc.headers["retry-after"]) >= 1
        return False
    return True


def test_rate_limit_is_exact_across_workers(redis_server: Any) -> None:
    async def main() -> None:
        states = await workers(redis_server.url, 4)
        try:
            calls = [admitted(states[i % 4], "alice", "create", 37, 3600) for i in range(300)]
            results = await asyncio.gather(*calls)
            assert sum(results) == 37
            # another client and another handler have windows of their own
            assert await admitted(states[0], "bob", "create", 37, 3600)
            assert await admitted(states[1], "alice", "other", 37, 3600)
        finally:
            await close_all(states)

    asyncio.run(main())


def test_rate_limit_window_restarts_after_it_expires(redis_server: Any) -> None:
    async def main() -> None:
        (state,) = await workers(redis_server.url, 1)
        try:
            assert [await admitted(state, "c", "h", 2, 0.3) for _ in range(3)] == [True, True, False]
            await asyncio.sleep(0.35)
            assert await admitted(state, "c", "h", 2, 0.3)
        finally:
            await state.close()

    asyncio.run(main())


def test_fan_out_reaches_every_subscriber_on_every_worker(redis_server: Any) -> None:
    async def main() -> None:
        a, b, c = await workers(redis_server.url, 3)
        try:
            subs = [a.bus.subscribe("news"), a.bus.subscribe("news"), b.bus.subscribe("news")]
            for sub in subs:
                await sub.ready()
            for n in range(20):
                assert await c.bus.publish("news", {"n": n}) == 3
            for sub in subs:
                got = [await asyncio.wait_for(sub.get(), 5) for _ in range(20)]
                assert got == [{"n": n} for n in range(20)]
        finally:
            await close_all([a, b, c])

    asyncio.run(main())


def test_a_group_shares_the_messages_each_goes_to_one_member(redis_server: Any) -> None:
    async def main() -> None:
        a, b = await workers(redis_server.url, 2)
        try:
            members = [a.bus.subscribe("jobs", group="billing"), b.bus.subscribe("jobs", group="billing")]
            for sub in members:
                await sub.ready()
            for n in range(40):
                assert await a.bus.publish("jobs", n) == 1  # one group: one receiver
            seen: list[int] = []

            async def drain(sub: Any) -> None:
                while True:
                    seen.append(await sub.get())

            tasks = [asyncio.create_task(drain(s)) for s in members]
            await eventually(lambda: _true(len(seen) >= 40))
            await asyncio.sleep(0.2)
            for t in tasks:
                t.cancel()
            assert sorted(seen) == list(range(40))  # each exactly once
        finally:
            await close_all([a, b])

    asyncio.run(main())


async def _true(value: bool) -> bool:
    return value


CONSUMER = textwrap.dedent(
    """
    import asyncio, sys
    from gati_runtime_min.state import StateSettings
    from gati_runtime_min.state.redis_state import RedisState

    async def main():
        s = RedisState(StateSettings(backend="redis", url=sys.argv[1], namespace="gati:test:default"), None)
        await s.start()
        sub = s.bus.subscribe("jobs", maxsize=5, group="workers")
        await sub.ready()
        print("ready", flush=True)
        n = await sub.get()  # in hand, never acknowledged; the others wait in the local queue
        print(n, flush=True)
        while sub.queue.qsize() < 2:
            await asyncio.sleep(0.01)
        print("holding", flush=True)
        await asyncio.sleep(3600)  # killed here

    asyncio.run(main())
    """
)


def test_what_a_crashed_worker_claimed_is_redelivered_to_another(redis_server: Any) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", CONSUMER, redis_server.url], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"

        async def publish() -> None:
            (p,) = await workers(redis_server.url, 1)
            for n in range(3):
                await p.bus.publish("jobs", n)
            await p.close()

        asyncio.run(publish())
        assert int(proc.stdout.readline()) == 0
        assert proc.stdout.readline().strip() == b"holding"
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # a crash: no ack, no clean-up
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    async def survivor() -> None:
        (s,) = await workers(redis_server.url, 1, claim_idle=0.5)
        try:
            sub = s.bus.subscribe("jobs", group="workers")
            got = sorted([await asyncio.wait_for(sub.get(), 10) for _ in range(3)])
            assert got == [0, 1, 2]
        finally:
            await s.close()

    asyncio.run(survivor())


def test_publish_waits_while_a_group_is_full_then_proceeds(redis_server: Any) -> None:
    async def main() -> None:
        a, b = await workers(redis_server.url, 2, stream_maxlen=4)
        try:
            sub = b.bus.subscribe("slow", maxsize=1)
            await sub.ready()
            for n in range(4):
                await a.bus.publish("slow", n, timeout=5)
            with pytest.raises(TimeoutError):
                await a.bus.publish("slow", 4, timeout=0.3)  # 4 unacknowledged: the publisher waits
            assert await sub.get() == 0
            assert await sub.get() == 1  # acknowledges 0
            await a.bus.publish("slow", 4, timeout=5)
            rest = [await asyncio.wait_for(sub.get(), 5) for _ in range(3)]
            assert rest == [2, 3, 4]
            length = await a.client.xlen(a.bus.stream("slow"))
            assert length <= 4  # acknowledged entries are trimmed
        finally:
            await close_all([a, b])

    asyncio.run(main())


def test_acknowledged_messages_survive_a_redis_restart(redis_persistent: Any) -> None:
    async def before() -> None:
        a, b = await workers(redis_persistent.url, 2)
        sub = b.bus.subscribe("orders", group="shipping")
        await sub.ready()
        for n in range(20):
            await a.bus.publish("orders", n)
        assert [await asyncio.wait_for(sub.get(), 5) for _ in range(5)] == [0, 1, 2, 3, 4]
        sub.ack()
        await asyncio.sleep(0.2)
        await close_all([a, b])

    asyncio.run(before())
    redis_persistent.restart()

    async def after() -> None:
        (c,) = await workers(redis_persistent.url, 1)
        try:
            sub = c.bus.subscribe("orders", group="shipping")
            got = [await asyncio.wait_for(sub.get(), 5) for _ in range(15)]
            assert got == list(range(5, 20))
        finally:
            await c.close()

    asyncio.run(after())


def test_usage_counts_and_the_shared_store_are_global(redis_server: Any) -> None:
    async def main() -> None:
        a, b = await workers(redis_server.url, 2)
        try:
            for _ in range(7):
                a.counts[("get_book", None)] = a.counts.get(("get_book", None), 0) + 1
            b.counts[("get_book", "v0")] = 3
            b.counts[("get_book", None)] = 2
            await b.flush()
            assert await a.usage() == {"get_book": {"v1": 9, "v0": 3}}
            assert await a.incr("seen") == 1 and await b.incr("seen", 4) == 5
            await a.set("cfg", {"mode": "on"}, ttl=30)
            assert await b.get("cfg") == {"mode": "on"}
            await b.delete("cfg")
            assert await a.get("cfg", "gone") == "gone"
        finally:
            await close_all([a, b])

    asyncio.run(main())


def test_two_apps_share_one_redis_without_sharing_keys(redis_server: Any) -> None:
    async def main() -> None:
        one = RedisState(settings(redis_server.url, namespace="gati:shop:prod"), None)
        two = RedisState(settings(redis_server.url, namespace="gati:shop:staging"), None)
        for s in (one, two):
            await s.start()
        try:
            assert await admitted(one, "c", "h", 1, 60)
            assert await admitted(two, "c", "h", 1, 60)  # its own window
            keys = [k.decode() if isinstance(k, bytes) else k for k in await one.client.keys("*")]
            assert keys and all(k.startswith(("gati:shop:prod:", "gati:shop:staging:")) for k in keys)
        finally:
            await close_all([one, two])

    asyncio.run(main())


def test_acl_user_and_password_from_the_url_confine_the_app_to_its_namespace(redis_server: Any) -> None:
    async def main() -> None:
        (admin,) = await workers(redis_server.url, 1)
        await admin.client.execute_command(  # type: ignore[no-untyped-call]
            "ACL", "SETUSER", "shop", "on", ">s3cret", "~gati:shop:*", "+@all", "-@dangerous", "+ping"
        )
        await admin.close()
        url = f"redis://shop:s3cret@127.0.0.1:{redis_server.port}/0"
        ok = RedisState(settings(url, namespace="gati:shop:prod"), None)
        await ok.start()
        try:
            assert await admitted(ok, "c", "h", 1, 60)
            assert await ok.incr("n") == 1
        finally:
            await ok.close()
        outside = RedisState(settings(url, namespace="gati:other:prod"), None)
        with pytest.raises(StateError, match=r"cannot use the state store .* under gati:other:prod"):
            await outside.start()
        wrong = RedisState(settings(f"redis://shop:nope@127.0.0.1:{redis_server.port}/0"), None)
        with pytest.raises(StateError) as info:
            await wrong.start()
        assert "shop:***@" in str(info.value) and "nope" not in str(info.value)

    asyncio.run(main())


def test_redis_down_at_start_up_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"redis://app:hunter2@127.0.0.1:{port}/0"  # nothing listens there
    state = RedisState(settings(url), None)
    with pytest.raises(StateError) as info:
        asyncio.run(state.start())
    message = str(info.value)
    assert message.startswith("cannot reach the state store at redis://app:***@127.0.0.1:")
    assert "hunter2" not in message


def test_start_with_wait_while_redis_is_away_starts_not_ready_and_finishes_when_it_returns(
    redis_server: Any,
) -> None:
    """`start(wait=True)` (a `gatic serve` worker): no error while Redis is away; not ready, rate
    limits fail closed; once Redis is back the rest of the start runs (script, bus, usage flush)."""

    async def main() -> None:
        redis_server.stop()
        state = RedisState(settings(redis_server.url), "v1")
        await state.start(wait=True)
        try:
            assert not await state.check()
            with pytest.raises(GatiError) as info:
                await state.hit("c", "h", 100, 60)
            assert info.value.code == "GATI506"
            redis_server.start()
            await eventually(state.check)
            assert await admitted(state, "c", "h", 100, 60)
            sub = state.bus.subscribe("news")
            await sub.ready()
            assert await state.bus.publish("news", {"n": 1}) == 1
            assert await asyncio.wait_for(sub.get(), 10) == {"n": 1}
        finally:
            await state.close()

    asyncio.run(main())


@pytest.mark.parametrize("failure", ["closed", "open"])
def test_lost_redis_fails_as_configured_and_service_resumes_by_itself(redis_server: Any, failure: str) -> None:
    async def main() -> None:
        (state,) = await workers(redis_server.url, 1, rate_limit_failure=failure)
        try:
            assert await admitted(state, "c", "h", 100, 60)
            redis_server.stop()
            assert not await state.check()
            if failure == "closed":
                with pytest.raises(GatiError) as info:
                    await state.hit("c", "h", 100, 60)
                assert info.value.code == "GATI506" and info.value.status == 503
            else:
                await state.hit("c", "h", 100, 60)  # admitted while the store is away
            redis_server.start()
            await eventually(state.check)
            assert await admitted(state, "c", "h", 100, 60)
        finally:
            await state.close()

    asyncio.run(main())


def test_a_frozen_redis_fails_the_calls_in_flight_after_the_command_timeout(redis_server: Any) -> None:
    """A Redis that keeps the connection open but stops answering (SIGSTOP) is not waited on
    forever: the pipelined rate-limit calls in flight fail as a lost store (GATI506) once no
    reply came for the command timeout, and service resumes after SIGCONT."""
    from gati_runtime_min.state.redis_state import COMMAND_TIMEOUT

    async def main() -> None:
        (state,) = await workers(redis_server.url, 1)
        pid = redis_server.proc.pid
        try:
            assert await admitted(state, "c", "h", 1000, 60)
            os.kill(pid, signal.SIGSTOP)
            started = time.monotonic()
            try:
                results = await asyncio.wait_for(
                    asyncio.gather(*(state.hit("c", "h", 1000, 60) for _ in range(5)), return_exceptions=True),
                    timeout=4 * COMMAND_TIMEOUT + 5,
                )
            finally:
                os.kill(pid, signal.SIGCONT)
            waited = time.monotonic() - started
            assert all(isinstance(r, GatiError) and r.code == "GATI506" for r in results), results
            assert COMMAND_TIMEOUT * 0.9 <= waited <= 2 * COMMAND_TIMEOUT + 3
            await eventually(state.check)
            assert await admitted(state, "c", "h", 1000, 60)
        finally:
            await state.close()

    asyncio.run(main())


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (the certificate is its own CA)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "redis.crt", folder / "redis.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


@pytest.mark.slow
def test_rediss_url_talks_tls_and_checks_the_certificate(tmp_path: Path) -> None:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed here (.ci/run installs it in CI)")
    cert, key = _self_signed(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [binary, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir"]
    args += [str(tmp_path), "--tls-cert-file", str(cert), "--tls-key-file", str(key)]
    args += ["--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no"]
    log = (tmp_path / "redis.log").open("wb")
    proc = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    log.close()
    try:
        url = f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={cert}&ssl_cert_reqs=required"

        async def main() -> None:
            deadline = time.monotonic() + 10
            while True:
                state = RedisState(settings(url), None)
                try:
                    await state.start()
                    break
                except StateError:
                    assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "redis.log").read_text()
                    await asyncio.sleep(0.05)
            try:
                assert await admitted(state, "c", "h", 1, 60)
                assert not await admitted(state, "c", "h", 1, 60)
            finally:
                await state.close()
            plain = RedisState(settings(f"redis://127.0.0.1:{port}/0"), None)
            with pytest.raises(StateError):  # the TLS port does not speak plain RESP
                await plain.start()

        asyncio.run(main())
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
