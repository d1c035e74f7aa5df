"""Handlers that answer with the worker's pid, so tests see which worker served them."""

from __future__ import annotations

import asyncio
import os
from typing import TypedDict

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get, post


class NewItem(TypedDict):
    name: str
    qty: int


class Item(TypedDict):
    name: str
    qty: int
    pid: int


class Message(TypedDict):
    n: int


class Published(TypedDict):
    receivers: int
    pid: int


class Listen(TypedDict):
    count: int
    timeout: float


class Heard(TypedDict):
    messages: list[int]
    pid: int


class Count(TypedDict):
    value: int


@post("/items", rate_limit="20/hour", status=201)
async def create_item(req: Request[NewItem], res: Response[Item], lctx: LocalContext, gctx: GlobalContext) -> None:
    """Rate limited: 20 per hour per client, across every worker."""
    res.status(201).json({"name": req.body["name"], "qty": req.body["qty"], "pid": os.getpid()})


@post("/limited-items", rate_limit="1000000000/hour", status=201)
async def create_limited_item(
    req: Request[NewItem], res: Response[Item], lctx: LocalContext, gctx: GlobalContext
) -> None:
    """Rate limited with a limit no benchmark reaches: the cost of counting, every request."""
    res.status(201).json({"name": req.body["name"], "qty": req.body["qty"], "pid": os.getpid()})


@post("/fast-items", status=201)
async def create_fast_item(req: Request[NewItem], res: Response[Item], lctx: LocalContext, gctx: GlobalContext) -> None:
    """Not rate limited."""
    res.status(201).json({"name": req.body["name"], "qty": req.body["qty"], "pid": os.getpid()})


@post("/publish")
async def publish(req: Request[Message], res: Response[Published], lctx: LocalContext, gctx: GlobalContext) -> None:
    """Publish one message on the `news` topic."""
    receivers = await gctx.publish("news", req.body["n"], timeout=10)
    res.json({"receivers": receivers, "pid": os.getpid()})


@post("/listen")
async def listen(req: Request[Listen], res: Response[Heard], lctx: LocalContext, gctx: GlobalContext) -> None:
    """Subscribe to `news`, then collect `count` messages (or what came within `timeout`)."""
    sub = gctx.subscribe("news")
    await sub.ready()
    await gctx.store.incr("listeners")
    heard: list[int] = []
    try:
        async with asyncio.timeout(req.body["timeout"]):
            while len(heard) < req.body["count"]:
                heard.append(await sub.get())
    except TimeoutError:
        pass
    finally:
        sub.close()
    res.json({"messages": heard, "pid": os.getpid()})


@get("/listeners")
async def listeners(req: Request[None], res: Response[Count], lctx: LocalContext, gctx: GlobalContext) -> None:
    """How many listeners have subscribed so far (the shared store)."""
    res.json({"value": int(await gctx.store.get("listeners", 0))})
