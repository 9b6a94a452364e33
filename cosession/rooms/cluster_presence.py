"""Presence and capacity of one room across the nodes of a cluster.

Each node is the only writer of its own members' entries; it keeps them in three places:

* its view (``remote[node_id]``), changed at once so its own members see changes
  without waiting for Redis;
* Redis: the hash ``{room:<id>}:presence`` (field ``<node>|<member>``, the entry) and the
  sorted set ``{room:<id>}:online`` (same member, score = expiry), both written by a
  flusher that always writes the member's *current* entry, retrying with backoff (a
  retry can never write an older state over a newer one), and published on the room's
  channel so the other nodes update their views;
* on every node heartbeat ``reconcile`` rewrites all of them (and removes what is no
  longer local), and reads the other nodes' entries back: an entry counts when it is in
  the hash *and* unexpired in the set, so a lost publish, a lost write or a dead node's
  leftovers converge within a heartbeat.

Capacity (SPEC 3.1 ``room_full``) is decided by ``online.lua`` in one atomic step at
hello: the member is admitted if it is already online on some node or fewer than
``max_members`` distinct members are, and its entry is written in the same step.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any, Literal

import msgspec
import structlog

from cosession.config import Settings
from cosession.hub.hub_redis import HubUnavailable, RedisHub, room_keys
from cosession.rooms.room import JoinRefused
from protocol.errors import CloseCode, ErrorCode
from protocol.messages import FocusSignal, FollowSignal, PresenceMember, PresenceUpdate, ServerMessage

log = structlog.get_logger("cosession.room.presence")

_encoder = msgspec.msgpack.Encoder()
_entry_decoder = msgspec.msgpack.Decoder(PresenceMember)
#: the sync of one node's entries keeps an unlisted entry written this recently (ms): an
#: admission that raced the heartbeat's snapshot must not lose its seat
SYNC_PROTECT_MS = 500


def node_key(node_id: str) -> str:
    return f"cosession:node:{node_id}"


class ClusterPresence:
    def __init__(
        self,
        room_id: str,
        redis: RedisHub,
        settings: Settings,
        deliver: Callable[[ServerMessage], None],
        spawn: Callable[[Coroutine[Any, Any, Any]], None],
        applied: Callable[[str, str, PresenceMember], None] | None = None,
    ) -> None:
        self.room_id = room_id
        self.node_id = redis.node_id
        self.settings = settings
        self.remote: dict[str, dict[str, PresenceMember]] = {}  # node -> member -> entry
        self._redis = redis
        self._deliver = deliver
        self._spawn = spawn
        self._applied = applied  # told after every change of the view (the room's calls)
        self._keys = room_keys(room_id)
        self._dirty: set[str] = set()
        self._flushing = False
        self._admitting: dict[str, int] = {}
        self._touched: dict[tuple[str, str], float] = {}  # (node, member) -> when a publish changed it
        self.flush_failures = 0

    @property
    def ttl(self) -> float:
        return self.settings.node_ttl

    # ---- the merged view ---------------------------------------------------------------

    def online(self) -> list[PresenceMember]:
        members: dict[str, None] = {}
        for entries in self.remote.values():
            members.update(dict.fromkeys(entries))
        out = [self.aggregate(m) for m in members]
        return [entry for entry in out if entry is not None]

    def aggregate(self, member: str) -> PresenceMember | None:
        """The member's entry as the room shows it (all nodes' entries merged)."""
        found = [entries[member] for entries in self.remote.values() if member in entries]
        if not found:
            return None
        connections = sum(entry.connections for entry in found)
        focus = next((e.focus for e in found if e.focus is not None), None)
        following = next((e.following for e in found if e.following is not None), None)
        call = next((e.call for e in found if e.call is not None), None)
        away = all(e.away for e in found)  # SPEC 15: away only when every node's connections are
        return msgspec.structs.replace(
            found[0], connections=connections, focus=focus, following=following, call=call, away=away
        )

    def apply(self, node: str, kind: str, entry: PresenceMember) -> None:
        """One node's entry changed: update the view, tell this node's members."""
        before = self.aggregate(entry.member)
        entries = self.remote.setdefault(node, {})
        if kind == "leave":
            entries.pop(entry.member, None)
            if not entries:
                self.remote.pop(node, None)
        else:
            entries[entry.member] = entry
        after = self.aggregate(entry.member)
        if after is None:
            if before is not None:
                self._deliver(PresenceUpdate(kind="leave", member=before))
        elif before is None:
            self._deliver(PresenceUpdate(kind="join", member=after))
        elif after != before:
            self._deliver(PresenceUpdate(kind="update", member=after))
        if self._applied is not None:
            self._applied(node, kind, entry)

    def published(self, node: str, kind: str, entry: PresenceMember) -> None:
        """A presence message from the room's channel."""
        if node == self.node_id:  # our own view is changed at once, never from the echo,
            if self._applied is not None:  # but the echo tells where our write fell in the
                self._applied(node, "echo", entry)  # channel's order (the calls' log events)
            return
        self._touched[(node, entry.member)] = time.monotonic()
        self.apply(node, kind, entry)

    def signal(self, node: str, message: ServerMessage) -> None:
        entries = self.remote.get(node, {})
        if isinstance(message, (FocusSignal, FollowSignal)) and node != self.node_id:
            self._touched[(node, message.member)] = time.monotonic()  # newer than the hash, for now
        if isinstance(message, FocusSignal) and message.member in entries:
            entries[message.member] = msgspec.structs.replace(entries[message.member], focus=message.product)
        elif isinstance(message, FollowSignal) and message.member in entries:
            entries[message.member] = msgspec.structs.replace(entries[message.member], following=message.target)

    # ---- this node's members -------------------------------------------------------------

    def local_changed(self, kind: Literal["join", "update", "leave"], entry: PresenceMember) -> None:
        self.apply(self.node_id, kind, entry)
        self._mark(entry.member)

    def local_stored(self, entry: PresenceMember) -> None:
        if entry.member in self.remote.get(self.node_id, {}):
            self.apply(self.node_id, "update", entry)
        self._mark(entry.member)

    def _mark(self, member: str) -> None:
        self._dirty.add(member)
        if not self._flushing:
            self._flushing = True
            self._spawn(self._flush())

    async def _flush(self) -> None:
        backoff = 0.05
        try:
            while self._dirty:
                members = sorted(self._dirty)
                self._dirty.clear()
                try:
                    await self._write(members)
                    backoff = 0.05
                except Exception as exc:  # Redis away or a connection dropped mid-command
                    self.flush_failures += 1
                    log.debug("presence write failed: retrying", room=self.room_id, error=str(exc))
                    self._dirty.update(members)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 1.0)
        finally:
            self._flushing = False

    async def _write(self, members: list[str]) -> None:
        own = self.remote.get(self.node_id, {})
        pipe = self._redis.redis.pipeline(transaction=False)
        present, gone = [], []
        for member in members:
            field = f"{self.node_id}|{member}"
            entry = own.get(member)
            if entry is not None:
                pipe.hset(self._keys["presence"], field, _encoder.encode(entry))
                pipe.publish(self._keys["channel"], b"P" + _encoder.encode((self.node_id, "update", entry)))
                present.append(member)
            else:
                pipe.hdel(self._keys["presence"], field)
                placeholder = PresenceMember(member=member, name="", role="member")
                pipe.publish(self._keys["channel"], b"P" + _encoder.encode((self.node_id, "leave", placeholder)))
                if member not in self._admitting:
                    gone.append(member)
        # a seat is taken before the entry shows, and given back after it went (see reconcile)
        if present:
            await self._redis.online(self.room_id, "add", present, ttl=self.ttl)
        await pipe.execute()
        if gone:
            await self._redis.online(self.room_id, "del", gone, ttl=self.ttl)

    # ---- capacity ------------------------------------------------------------------------

    async def admit(self, member: str) -> None:
        """Take a seat for ``member`` (SPEC 3.1 ``room_full``), or raise ``JoinRefused``.
        Call ``admitted`` once the join succeeded or failed."""
        self._admitting[member] = self._admitting.get(member, 0) + 1
        try:
            ok, count = await self._redis.online(
                self.room_id, "admit", [member], ttl=self.ttl, bound=self.settings.max_members
            )
        except HubUnavailable as exc:
            self.admitted(member, joined=False)
            raise JoinRefused(
                ErrorCode.UNAVAILABLE, CloseCode.GOING_AWAY, f"the room cannot be joined right now: {exc}"
            ) from None
        if not ok:
            self.admitted(member, joined=False)
            log.info("room full", room=self.room_id, online=count)
            raise JoinRefused(ErrorCode.ROOM_FULL, CloseCode.ROOM_FULL, "the room is full")

    def admitted(self, member: str, *, joined: bool) -> None:
        left = self._admitting.get(member, 0) - 1
        if left > 0:
            self._admitting[member] = left
        else:
            self._admitting.pop(member, None)
        if not joined and left <= 0 and member not in self.remote.get(self.node_id, {}):
            self._mark(member)  # give the seat back

    # ---- the heartbeat's reconcile ---------------------------------------------------------

    async def reconcile(self, alive: dict[str, bool]) -> dict[str, bool]:
        """Rewrite this node's entries, drop its stale ones, and bring the view of the other
        nodes' entries to what Redis holds. ``alive`` caches heartbeat lookups."""
        own = dict(self.remote.get(self.node_id, {}))
        listed = sorted(set(own) | set(self._admitting))
        # the set first, then the hash: a reader that sees an entry in both sees it whole
        await self._redis.online(self.room_id, "sync", listed, ttl=self.ttl, bound=SYNC_PROTECT_MS)
        if own:
            await self._redis.redis.hset(
                self._keys["presence"],
                mapping={f"{self.node_id}|{m}": _encoder.encode(e) for m, e in own.items()},
            )
        sent = time.monotonic()
        pipe = self._redis.redis.pipeline(transaction=False)
        pipe.zrange(self._keys["online"], 0, -1)
        pipe.hgetall(self._keys["presence"])
        results: Any = await pipe.execute()
        counted = {_text(x) for x in results[0] or ()}
        raw: dict[Any, Any] = results[-1] or {}
        theirs: dict[str, dict[str, PresenceMember]] = {}
        stale: list[str] = []
        for field_raw, value in raw.items():
            field = _text(field_raw)
            node, _, member = field.partition("|")
            if node == self.node_id:
                if member not in self.remote.get(self.node_id, {}):
                    stale.append(field)
                continue
            if field in counted:
                theirs.setdefault(node, {})[member] = _entry_decoder.decode(value)
        if stale:
            await self._redis.redis.hdel(self._keys["presence"], *stale)
        nodes = sorted((set(theirs) | set(self.remote)) - {self.node_id} - set(alive))
        if nodes:
            flags: Any = await self._redis.redis.mget([node_key(n) for n in nodes])
            alive.update({n: f is not None for n, f in zip(nodes, flags, strict=True)})
        for node in sorted((set(theirs) | set(self.remote)) - {self.node_id}):
            if not alive.get(node, False):
                continue  # the sweep drops a dead node's members
            wanted = theirs.get(node, {})
            have = self.remote.get(node, {})
            for member in sorted(set(wanted) | set(have)):
                if self._touched.get((node, member), 0.0) > sent:
                    continue  # a publish newer than our read
                want, current = wanted.get(member), have.get(member)
                if want is None and current is not None:
                    self.apply(node, "leave", current)
                elif want is not None and want != current:
                    self.apply(node, "update", want)
        horizon = sent - 60.0
        self._touched = {k: t for k, t in self._touched.items() if t > horizon}
        return alive

    async def load(self) -> None:
        """At room load: the other nodes' entries as Redis has them (best effort: the
        first reconcile corrects the rest)."""
        try:
            pipe = self._redis.redis.pipeline(transaction=False)
            pipe.zrange(self._keys["online"], 0, -1)
            pipe.hgetall(self._keys["presence"])
            results: Any = await pipe.execute()
        except Exception:
            return
        counted = {_text(x) for x in results[0] or ()}  # a leftover of a gone node is not
        for field, value in (results[1] or {}).items():
            node, _, member = _text(field).partition("|")
            if node == self.node_id or _text(field) not in counted:
                continue  # our own entries from a previous life of this node id, or expired
            self.remote.setdefault(node, {})[member] = _entry_decoder.decode(value)

    def drop_node(self, node: str) -> None:
        """A node's heartbeat expired: its members are gone."""
        for entry in list(self.remote.get(node, {}).values()):
            self.apply(node, "leave", entry)
        self._spawn(self._forget_node(node))

    async def _forget_node(self, node: str) -> None:
        try:
            names: Any = await self._redis.redis.hkeys(self._keys["presence"])
            fields = [f for f in names if _text(f).startswith(node + "|")]
            if fields:
                await self._redis.redis.hdel(self._keys["presence"], *fields)
        except Exception as exc:
            log.debug("forgetting a dead node's presence failed", room=self.room_id, error=str(exc))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
