"""The cluster hub: sequencing, fan-out and recent history over Redis.

* ``append`` runs ``append.lua``: one atomic step that checks the op's idempotency record,
  the room's epoch and Redis's incarnation, takes the next offset, appends the event to
  the room's bounded stream (entry id ``<seq>-0``) and publishes it on the room's channel.
  With a guard ``(head, slack)`` it refuses (``stale``) when ``slack`` or more events were
  sequenced after ``head``: count limits are then checked again on a fresher replica.
* ``online`` runs ``online.lua``: the room's online members across nodes (expiring
  entries per node), and the atomic capacity check at hello; ``rate`` runs ``rate.lua``,
  a member's token bucket shared by every node.
* ``seed`` runs ``seed.lua``: (re)establishes a room under a fresh epoch when Redis lost it
  or is a new incarnation.
* One pub/sub connection carries the channels of the rooms this node has loaded; a
  listener task hands each message to the room's sink in arrival order. On any Redis
  error the node reconnects with backoff, resubscribes and calls every sink's
  ``on_resubscribed`` so replicas check their position (events published while the
  subscription was down are repaired from the stream).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from cosession.hub.hub import HubUnavailable

__all__ = ["REDIS_FAILURES", "AppendResult", "HubUnavailable", "RedisHub", "room_keys"]

log = structlog.get_logger("cosession.hub.redis")

AppendStatus = Literal["ok", "dup", "epoch", "noepoch", "runid", "stale"]
OnlineMode = Literal["admit", "add", "del", "sync"]


@dataclass(frozen=True)
class AppendResult:
    status: AppendStatus
    seq: int = 0
    epoch: str = ""


#: What a Redis command raises when Redis or the connection to it fails. RuntimeError is
#: in it because uvloop raises "unable to perform operation on <TCPTransport closed=True
#: ...>; the handler is closed" when redis-py writes to a connection Redis just dropped
#: (seen while Redis restarted under load); redis-py does not translate it.
REDIS_FAILURES = (RedisError, OSError, RuntimeError)


def room_keys(room_id: str) -> dict[str, str]:
    tag = "{room:" + room_id + "}"
    return {
        "epoch": f"{tag}:epoch",
        "offset": f"{tag}:offset",
        "stream": f"{tag}:stream",
        "runid": f"{tag}:runid",
        "channel": f"{tag}:ch",
        "presence": f"{tag}:presence",
        "online": f"{tag}:online",
    }


RawSink = Callable[[bytes], None]


@dataclass
class _Subscription:
    on_message: RawSink
    on_resubscribed: Callable[[], None]


class RedisHub:
    """Redis transport for rooms. Speaks bytes; the room layer decodes."""

    def __init__(
        self,
        url: str,
        *,
        node_id: str,
        stream_maxlen: int = 2000,
        ref_ttl: int = 7 * 24 * 3600,
        op_timeout: float = 2.0,
        max_connections: int = 256,
    ) -> None:
        self.url = url
        self.node_id = node_id
        self.stream_maxlen = stream_maxlen
        self.ref_ttl = ref_ttl
        # A blocking pool: a burst of commands (a wave of joins) waits for a connection
        # instead of failing with "Too many connections".
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=op_timeout * 5,
            socket_timeout=op_timeout,
            socket_connect_timeout=op_timeout,
            health_check_interval=5,
        )
        self._redis: aioredis.Redis = aioredis.Redis(connection_pool=pool)
        self._append_script = self._redis.register_script(self._lua("append.lua"))
        self._seed_script = self._redis.register_script(self._lua("seed.lua"))
        self._online_script = self._redis.register_script(self._lua("online.lua"))
        self._rate_script = self._redis.register_script(self._lua("rate.lua"))
        self._subs: dict[str, _Subscription] = {}
        self._sub_waiters: dict[str, asyncio.Future[None]] = {}
        self._pubsub: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._changes: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._connected = asyncio.Event()
        self.run_id = ""
        self.ready = False
        self.reconnects = 0

    @staticmethod
    def _lua(name: str) -> str:
        return resources.files("cosession.hub").joinpath(name).read_text()

    @property
    def redis(self) -> aioredis.Redis:
        return self._redis

    # ---- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen_forever(), name="redis-hub-listener")

    async def wait_ready(self, timeout: float) -> bool:
        try:
            async with asyncio.timeout(timeout):
                await self._connected.wait()
            return True
        except TimeoutError:
            return False

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        with contextlib.suppress(Exception):
            await self._redis.aclose()

    # ---- subscriptions ---------------------------------------------------------------

    def subscribe(self, room_id: str, on_message: RawSink, on_resubscribed: Callable[[], None]) -> None:
        channel = room_keys(room_id)["channel"]
        self._subs[channel] = _Subscription(on_message, on_resubscribed)
        self._sub_waiters.setdefault(channel, asyncio.get_running_loop().create_future())
        self._changes.put_nowait(("sub", channel))

    async def subscribed(self, room_id: str, timeout: float = 5.0) -> None:
        """Wait until Redis confirmed the room's subscription (so nothing published from
        now on can be missed); raises ``HubUnavailable`` after ``timeout``."""
        waiter = self._sub_waiters.get(room_keys(room_id)["channel"])
        if waiter is None:
            return
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(waiter)
        except TimeoutError:
            raise HubUnavailable("subscription not confirmed") from None

    def _confirmed(self, channel: str) -> None:
        waiter = self._sub_waiters.pop(channel, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def unsubscribe(self, room_id: str) -> None:
        channel = room_keys(room_id)["channel"]
        if self._subs.pop(channel, None) is not None:
            self._changes.put_nowait(("unsub", channel))
        waiter = self._sub_waiters.pop(channel, None)
        if waiter is not None and not waiter.done():
            waiter.cancel()

    async def _listen_forever(self) -> None:
        backoff = 0.05
        while True:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, ConnectionError) as exc:
                if self.ready:
                    log.warning("redis connection lost", error=str(exc))
                self.ready = False
                self._connected.clear()
                self.reconnects += 1
            await asyncio.sleep(backoff + random.random() * backoff)
            backoff = min(backoff * 2, 2.0)
            if self.ready:
                backoff = 0.05

    async def _listen_once(self) -> None:
        info = await self._redis.info("server")
        self.run_id = str(info["run_id"])
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._pubsub = pubsub
        # drain stale change requests: we subscribe to the full current set
        while not self._changes.empty():
            self._changes.get_nowait()
        channels = list(self._subs)
        await pubsub.subscribe("cosession:probe:" + self.node_id, *channels)
        self.ready = True
        self._connected.set()
        log.info("redis connected", run_id=self.run_id, rooms=len(channels))
        for channel in channels:
            self._confirmed(channel)
            sub = self._subs.get(channel)
            if sub is not None:
                sub.on_resubscribed()
        while True:
            while not self._changes.empty():
                kind, channel = self._changes.get_nowait()
                if kind == "sub":
                    await pubsub.subscribe(channel)
                    self._confirmed(channel)
                    sub = self._subs.get(channel)
                    if sub is not None:
                        sub.on_resubscribed()
                else:
                    await pubsub.unsubscribe(channel)
            message = await pubsub.get_message(timeout=0.05)
            if message is None:
                continue
            if message.get("type") != "message":
                continue
            channel = message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
            sub = self._subs.get(channel)
            if sub is not None:
                try:
                    sub.on_message(message["data"])
                except Exception:
                    log.exception("room sink failed", channel=channel)

    # ---- commands ----------------------------------------------------------------------

    async def append(
        self,
        room_id: str,
        epoch: str,
        payload: bytes,
        member: str,
        ref: str | None,
        guard: tuple[int, int] | None = None,
    ) -> AppendResult:
        keys = room_keys(room_id)
        ref_key = keys["epoch"].replace(":epoch", f":ref:{member}:{ref or ''}")
        try:
            result = await self._append_script(
                keys=[keys["epoch"], keys["offset"], keys["stream"], keys["runid"], ref_key],
                args=[
                    epoch,
                    self.run_id,
                    payload,
                    self.stream_maxlen,
                    self.ref_ttl,
                    keys["channel"],
                    "1" if ref else "0",
                    "" if guard is None else guard[0],
                    0 if guard is None else guard[1],
                ],
            )
        except REDIS_FAILURES as exc:
            raise HubUnavailable(str(exc)) from exc
        status: Any = _text(result[0])
        if status in ("ok", "dup", "stale"):
            return AppendResult(status, seq=int(result[1]))
        if status == "epoch":
            return AppendResult("epoch", epoch=_text(result[1]))
        return AppendResult(status)

    async def online(
        self, room_id: str, mode: OnlineMode, members: list[str], *, ttl: float, bound: int = 0
    ) -> tuple[bool, int]:
        """Run ``online.lua`` for this node: (allowed?, count). Only ``admit`` refuses.
        ``bound``: ``max_members`` for ``admit``; for ``sync``, how many ms a fresh entry
        it was not told about is kept."""
        try:
            result = await self._online_script(
                keys=[room_keys(room_id)["online"]],
                args=[mode, self.node_id, max(1, int(ttl * 1000)), bound, *members],
            )
        except REDIS_FAILURES as exc:
            raise HubUnavailable(str(exc)) from exc
        return _text(result[0]) == "ok", int(result[1])

    async def rate(self, room_id: str, member: str, *, rate: float, burst: int, want: int) -> tuple[int, int]:
        """Borrow up to ``want`` tokens from the member's shared bucket: (granted, wait ms)."""
        key = room_keys(room_id)["epoch"].replace(":epoch", f":rate:{member}")
        try:
            result = await self._rate_script(keys=[key], args=[rate, burst, want])
        except REDIS_FAILURES as exc:
            raise HubUnavailable(str(exc)) from exc
        return int(result[0]), int(result[1])

    async def seed(self, room_id: str, new_epoch: str, head: int) -> tuple[bool, str]:
        """Seed the room if Redis lacks it under this incarnation: (seeded?, epoch)."""
        keys = room_keys(room_id)
        try:
            result = await self._seed_script(
                keys=[keys["epoch"], keys["offset"], keys["stream"], keys["runid"]],
                args=[new_epoch, head, self.run_id, keys["channel"]],
            )
        except REDIS_FAILURES as exc:
            raise HubUnavailable(str(exc)) from exc
        return _text(result[0]) == "seeded", _text(result[1])

    async def room_position(self, room_id: str) -> tuple[str | None, int, str | None]:
        """(epoch, offset, recorded run_id) as Redis has them now."""
        keys = room_keys(room_id)
        try:
            values: Any = await self._redis.mget(keys["epoch"], keys["offset"], keys["runid"])
            epoch, offset, runid = values
        except REDIS_FAILURES as exc:
            raise HubUnavailable(str(exc)) from exc
        return (
            epoch.decode() if epoch else None,
            int(offset) if offset else 0,
            runid.decode() if runid else None,
        )

    async def read_stream(self, room_id: str, after: int, upto: int | None = None) -> list[tuple[int, bytes]]:
        """Stream entries with seq in (after, upto], oldest first."""
        keys = room_keys(room_id)
        try:
            entries: Any = await self._redis.xrange(
                keys["stream"], min=f"{after + 1}-0", max=f"{upto}-0" if upto else "+"
            )
        except REDIS_FAILURES as exc:
            raise HubUnavailable(str(exc)) from exc
        out: list[tuple[int, bytes]] = []
        for entry_id, fields in entries or ():
            seq = int(_text(entry_id).split("-", 1)[0])
            out.append((seq, bytes(fields[b"e"])))
        return out

    async def delete_entries(self, room_id: str, seqs: list[int]) -> int:
        """Remove entries from the room's stream (erasure); gap repair reads any seq the
        stream lacks from the SQL log instead. Returns how many were removed."""
        if not seqs:
            return 0
        try:
            removed: Any = await self._redis.xdel(room_keys(room_id)["stream"], *(f"{seq}-0" for seq in seqs))
        except REDIS_FAILURES as exc:
            raise HubUnavailable(str(exc)) from exc
        return int(removed or 0)

    async def forget_room(self, room_id: str) -> None:
        """Delete every key of a room whose data was purged (its stream included)."""
        keys = room_keys(room_id)
        try:
            await self._redis.delete(*(keys[k] for k in ("epoch", "offset", "stream", "runid", "presence")))
        except REDIS_FAILURES as exc:
            raise HubUnavailable(str(exc)) from exc

    async def publish(self, room_id: str, data: bytes) -> None:
        try:
            await self._redis.publish(room_keys(room_id)["channel"], data)
        except REDIS_FAILURES as exc:
            raise HubUnavailable(str(exc)) from exc

    async def refresh_run_id(self) -> None:
        """Re-read Redis's run_id (it changes when Redis restarts)."""
        try:
            info: Any = await self._redis.info("server")
        except REDIS_FAILURES as exc:
            raise HubUnavailable(str(exc)) from exc
        self.run_id = str(info["run_id"])

    @contextlib.asynccontextmanager
    async def seed_lock(self, room_id: str, ttl: float = 10.0) -> AsyncIterator[bool]:
        """Try to take the room's seeding lock; yields whether this node holds it (the
        others wait briefly for the holder instead)."""
        key = room_keys(room_id)["epoch"].replace(":epoch", ":seedlock")
        token = f"{self.node_id}:{random.random()}"
        try:
            mine = bool(await self._redis.set(key, token, nx=True, px=int(ttl * 1000)))
        except REDIS_FAILURES as exc:
            raise HubUnavailable(str(exc)) from exc
        if not mine:
            for _ in range(int(ttl / 0.05)):
                await asyncio.sleep(0.05)
                try:
                    if not await self._redis.exists(key):
                        break
                except REDIS_FAILURES as exc:
                    raise HubUnavailable(str(exc)) from exc
        try:
            yield mine
        finally:
            if mine:
                with contextlib.suppress(RedisError, OSError):
                    if await self._redis.get(key) == token.encode():
                        await self._redis.delete(key)

    async def ping(self) -> None:
        try:
            await self._redis.ping()
        except REDIS_FAILURES as exc:
            raise HubUnavailable(str(exc)) from exc


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
