"""Where a room's call relay runs in a cluster (SPEC section 14.6): on one node.

The node whose id is in the Redis key ``{room:<id>}:relay`` (SET NX PX ``node_ttl``,
refreshed with the node's heartbeat) runs the room's ``CallRelay`` for the whole roster
(the first ``call_relay_max`` of ``RoomCalls.members()``). Every other node of the room
holds a ``RemoteRelay`` in its place: it answers ``serves`` from the roster as that node
sees it, and forwards its participants' signals ``to: ""`` and their re-joins from a new
call connection to the holder on the room's channel (message ``V``), in order, through
the room's ordered queue (the one relayed signals take). The relay's own signals reach
each participant through the room's per-member routing (``route_signal``).

Claims: a node that holds a participant's call connection claims as soon as the call
needs a relay (relay mode, someone in it), so the relay starts where the call started;
every node that needs one and holds a participant or knows the holder claims again on
each heartbeat (which keeps the holder's key alive). A claim returns the holder. The
node that wins says so on the channel (``L``) before its relay's first offer. A holder
that stops needing the relay or unloads the room deletes the key and says so (``L`` with
no holder), and a node that still needs one claims at once; a holder whose heartbeat
expired is replaced by the first claim after a survivor's sweep noticed it
(``node_dropped``). The new holder's relay offers every participant a new connection:
media stops for about one set-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol

import msgspec
import structlog

from cosession.hub.hub_redis import REDIS_FAILURES, HubUnavailable, RedisHub
from cosession.rooms.cluster_presence import node_key
from protocol.messages import Signal, SignalRelay

if TYPE_CHECKING:
    from cosession.calls.signaling import RoomCalls
    from cosession.config import Settings

log = structlog.get_logger("cosession.calls.placement")

#: ARGV: this node, ttl ms, a holder known dead ("" if none) -> the holder after the claim
CLAIM = """
local v = redis.call('GET', KEYS[1])
if v and v ~= ARGV[1] and v == ARGV[3] then v = false end
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
RELEASE_TIMEOUT = 2.0  # seconds a release at unload may take

_encoder = msgspec.msgpack.Encoder()
_via_decoder = msgspec.msgpack.Decoder(tuple[str, str, str, Signal | None])  # holder, member, origin, signal
_where_decoder = msgspec.msgpack.Decoder(tuple[str, str])  # sender, holder ("" = released)
_detached: set[asyncio.Task[None]] = set()  # releases that outlive their room
_loaded: bool | None = None  # whether the relay module (aiortc) imported, once tried


def relay_key(room_id: str) -> str:
    return "{room:" + room_id + "}:relay"


def relay_available() -> bool:
    """Whether this node can run a relay (aiortc installed; cheap, imports nothing): a node
    that cannot neither claims nor forwards, so ``to: ""`` stays ``not_found`` there."""
    if _loaded is not None:
        return _loaded
    return importlib.util.find_spec("aiortc") is not None


async def load_relay() -> bool:
    """Import the relay (aiortc, av, numpy: seconds of CPU) in a thread, so the node's
    loop keeps its heartbeat going meanwhile; whether it imported."""
    global _loaded
    if _loaded is None:
        try:
            await asyncio.to_thread(importlib.import_module, "cosession.calls.relay")
            _loaded = True
        except ImportError:
            _loaded = False
    return _loaded


class Relay(Protocol):
    """What ``RoomCalls`` drives: the ``CallRelay`` here, or a ``RemoteRelay``."""

    def roster(self, members: list[str]) -> None: ...
    def rejoined(self, member: str) -> None: ...
    def serves(self, member: str) -> bool: ...
    def signal(self, member: str, msg: Signal) -> None: ...
    def close(self) -> None: ...


class RemoteRelay:
    """The relay as seen from a node that does not host it."""

    def __init__(
        self, node_id: str, holder: str, max_participants: int, publish: Callable[[bytes], None], members: list[str]
    ) -> None:
        self.node_id = node_id
        self.holder = holder
        self.max = max_participants
        self.members = members[:max_participants]
        # added by the last roster change: ``RoomCalls.join`` changes the roster before it
        # asks ``serves``, so a member in here is joining for the first time, not re-joining
        self._fresh: set[str] = set()
        self._publish = publish

    def roster(self, members: list[str]) -> None:
        wanted = members[: self.max]
        self._fresh = set(wanted) - set(self.members)
        self.members = wanted

    def rejoined(self, member: str) -> None:
        if member in self.members and member not in self._fresh:
            self._forward(member, None)

    def serves(self, member: str) -> bool:
        return member in self.members

    def signal(self, member: str, msg: Signal) -> None:
        self._forward(member, msg)

    def close(self) -> None:
        self.members = []

    def _forward(self, member: str, msg: Signal | None) -> None:
        self._publish(b"V" + _encoder.encode((self.holder, member, self.node_id, msg)))


class RelayPlacement:
    """One room's relay placement on this node (a ``ClusterRoom`` owns it)."""

    def __init__(
        self,
        room_id: str,
        redis: RedisHub,
        settings: Settings,
        calls: RoomCalls,
        send: Callable[[str, SignalRelay], None],
        publish: Callable[[bytes], None],
        spawn: Callable[[Coroutine[Any, Any, Any]], None],
    ) -> None:
        self.room_id = room_id
        self.node_id = redis.node_id
        self.holder: str | None = None  # the node hosting the relay, as far as this node knows
        self._redis = redis
        self._settings = settings
        self._calls = calls
        self._send = send  # the room's route_signal
        self._publish = publish  # the room's ordered queue to its channel
        self._spawn = spawn
        self._key = relay_key(room_id)
        self._claim_script = redis.redis.register_script(CLAIM)
        self._release_script = redis.redis.register_script(RELEASE)
        self._members: list[str] = []  # the relayed roster; empty: no relay needed
        self._claiming = False
        self._closed = False

    # ---- from the room ----------------------------------------------------------------------

    def steer(self, members: list[str]) -> None:
        """The call's roster in relay mode, or ``[]`` when the call needs no relay."""
        self._members = list(members)
        if members and not relay_available():
            from cosession.calls.signaling import _new_relay

            _new_relay(self._calls, self._send)  # logs once that aiortc is missing
        if not members and self.holder == self.node_id:
            self.holder = None
            self._spawn(self._release())
        elif members and self.holder is None and self._calls.call_conns:
            self._claim_soon()
        self._apply()

    async def heartbeat(self) -> None:
        """Claim or keep the key while a relay is needed (the node heartbeat calls this)."""
        if self._members and not self._closed and relay_available() and self._may_claim():
            await self._claim()

    def node_dropped(self, node: str) -> None:
        """A node's heartbeat expired: if it hosted the relay, take over now."""
        if node == self.holder and self._members:
            self._claim_soon()

    def received(self, data: bytes) -> None:
        """A ``V`` (a signal or re-join for the relay) or ``L`` (who holds it) message."""
        if data[:1] == b"L":
            sender, holder = _where_decoder.decode(data[1:])
            if sender == self.node_id:
                return
            if holder == self.node_id:  # not what this node knows: ask Redis
                self._claim_soon()
            elif holder:
                self._learn(holder)
            elif sender == self.holder:  # released: a node that still needs a relay claims it
                self.holder = None
                if self._members and self._may_claim():
                    self._claim_soon()
            return
        holder, member, origin, msg = _via_decoder.decode(data[1:])
        relay = self._calls.relay
        if holder != self.node_id or relay is None or isinstance(relay, RemoteRelay):
            return
        if msg is None:  # the member took the call to a connection on another node
            if origin != self.node_id:
                self._calls.moved_away(member)
            relay.rejoined(member)
        elif relay.serves(member):
            relay.signal(member, msg)

    def close(self) -> None:
        """The room unloads here: give the key back so another node takes over at once."""
        self._closed = True
        if self.holder == self.node_id:
            self.holder = None
            task = asyncio.ensure_future(self._release())
            _detached.add(task)
            task.add_done_callback(_detached.discard)

    # ---- claims ---------------------------------------------------------------------------------

    def _may_claim(self) -> bool:
        """The relay goes to a node that holds a participant's call connection (the first
        one to need it: where the call started); any node of the room that knew the
        holder replaces it when it is gone."""
        return bool(self._calls.call_conns) or self.holder is not None

    def _claim_soon(self) -> None:
        if self._claiming or self._closed or not relay_available():
            return
        self._claiming = True
        self._spawn(self._claim_once())

    async def _claim_once(self) -> None:
        try:
            await self._claim()
        finally:
            self._claiming = False

    async def _claim(self) -> None:
        try:
            holder = await self._run_claim("")
            if holder != self.node_id:
                alive = await self._redis.redis.exists(node_key(holder))
                if not alive:  # its node's heartbeat expired: the key outlived it a little
                    holder = await self._run_claim(holder)
        except (HubUnavailable, *REDIS_FAILURES) as exc:
            log.debug("relay claim failed: retrying at the next heartbeat", room=self.room_id, error=str(exc))
            return
        if holder == self.node_id and self.holder != holder and not await load_relay():
            holder = ""  # cannot host it after all: give the key back
        if self._closed:
            return
        if holder == self.node_id and self._members:
            self._learn(holder)
        elif holder == self.node_id or not holder:  # no longer needed meanwhile, or no aiortc
            self.holder = None
            await self._release()
        else:
            self._learn(holder)

    async def _run_claim(self, dead: str) -> str:
        ttl = int(self._settings.node_ttl * 1000)
        value: Any = await self._claim_script(keys=[self._key], args=[self.node_id, ttl, dead])
        return value.decode() if isinstance(value, bytes) else str(value)

    async def _release(self) -> None:
        with contextlib.suppress(HubUnavailable, TimeoutError, *REDIS_FAILURES):
            async with asyncio.timeout(RELEASE_TIMEOUT):
                await self._release_script(keys=[self._key], args=[self.node_id])
                await self._redis.publish(self.room_id, b"L" + _encoder.encode((self.node_id, "")))

    def _learn(self, holder: str) -> None:
        if holder == self.holder:
            return
        if holder == self.node_id:
            # before the relay's first offer, in the same ordered queue: every node knows
            # where to send answers by the time a participant can send one
            self._publish(b"L" + _encoder.encode((self.node_id, holder)))
            log.info("call relay placed on this node", room=self.room_id)
        elif self.holder == self.node_id:
            log.warning("call relay taken over by another node", room=self.room_id, holder=holder)
        self.holder = holder
        self._apply()

    # ---- the relay object RoomCalls drives ---------------------------------------------------

    def _apply(self) -> None:
        """Make ``calls.relay`` match the holder and the roster."""
        from cosession.calls.signaling import _new_relay

        calls = self._calls
        relay = calls.relay
        here = self.holder == self.node_id
        wanted = bool(self._members) and self.holder is not None and not self._closed
        keep = wanted and relay is not None and (isinstance(relay, RemoteRelay) != here)
        if keep and isinstance(relay, RemoteRelay) and relay.holder != self.holder:
            keep = False
        if relay is not None and not keep:
            relay.close()
            calls.relay = relay = None
        if not wanted or not relay_available():
            return
        if relay is None:
            if here:
                relay = _new_relay(calls, self._send)
            else:
                assert self.holder is not None
                max_participants = self._settings.call_relay_max
                relay = RemoteRelay(self.node_id, self.holder, max_participants, self._publish, self._members)
            calls.relay = relay
        if relay is not None:
            relay.roster(self._members)
