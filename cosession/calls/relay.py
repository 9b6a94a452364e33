"""The server's media relay for one room's call (SPEC section 14.6, ``relay`` mode).

Each participant holds ONE ``RTCPeerConnection`` to the server (signals ``to: ""``,
answered ``from: ""``). The server always offers: the first two m-lines receive the
participant's own audio and video, then one ``sendonly`` m-line per track of every other
participant, labelled in the SDP ``msid``: stream id = the member id, track id =
``<member id>:<kind>``.

A participant's upstream is wrapped in a ``Forward`` track that outlives its peer
connection, and fanned out with aiortc's ``MediaRelay`` (one subscription per receiver).
When the roster changes every participant gets a fresh offer (a new peer connection):
simple and correct, at the price of a gap of about one ICE set-up for everyone.

Needs aiortc (the ``calls`` extra): ``cosession.calls.signaling`` imports this module
lazily. Bounded: at most ``call_relay_max`` participants are relayed (the first ones in
the roster); the rest get no offer and their signals to ``""`` are ``not_found``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import candidate_from_sdp
from av.frame import Frame
from av.packet import Packet

from protocol.messages import Signal, SignalRelay

log = structlog.get_logger("cosession.relay")

CLOSE_TIMEOUT = 5.0  # seconds a peer connection may take to close
KINDS = ("audio", "video")

Send = Callable[[str, SignalRelay], None]


def restrict_host_addresses(addresses: tuple[str, ...]) -> None:
    """Gather the relay's ICE host candidates on these addresses only (``--call-relay-address``;
    aioice otherwise uses every interface but loopback). Process-wide: the relay is the only
    ICE user in a server process."""
    if addresses:
        import aioice.ice

        aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: list(addresses)


class Forward(MediaStreamTrack):
    """One participant's track of one kind, as the relay fans it out: frames from the
    participant's current upstream track (which changes on every renegotiation)."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._source: MediaStreamTrack | None = None
        self._changed = asyncio.Event()

    def feed(self, source: MediaStreamTrack | None) -> None:
        self._source = source
        self._changed.set()

    async def recv(self) -> Frame | Packet[Any]:
        while self.readyState == "live":
            source = self._source
            if source is None:
                self._changed.clear()
                await self._changed.wait()
                continue
            try:
                return await source.recv()
            except MediaStreamError:
                if self._source is source:  # ended and not replaced yet: wait for the next
                    self._source = None
        raise MediaStreamError

    def stop(self) -> None:
        super().stop()
        self._changed.set()


@dataclass
class Participant:
    member: str
    forwards: dict[str, Forward] = field(default_factory=lambda: {k: Forward(k) for k in KINDS})
    pc: RTCPeerConnection | None = None
    stale: bool = False  # the roster changed while our offer awaited its answer: offer again then


class CallRelay:
    """The relay of one room's call on this node."""

    def __init__(self, send: Send, max_participants: int) -> None:
        self._send = send
        self.max = max_participants
        self._fanout = MediaRelay()
        self.participants: dict[str, Participant] = {}
        self._lock = asyncio.Lock()  # negotiations happen one at a time
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = False

    # ---- from RoomCalls (synchronous: the work runs in tasks) ---------------------------

    def roster(self, members: list[str]) -> None:
        """The call's participants (in order); renegotiate everyone if they changed."""
        wanted = members[: self.max]
        if list(self.participants) == wanted or self.closed:
            return
        self._spawn(self._renegotiate(wanted))

    def rejoined(self, member: str) -> None:
        """``member`` took the call to another connection: offer it again there."""
        if member in self.participants and not self.closed:
            self._spawn(self._offer_one(member))

    def serves(self, member: str) -> bool:
        return member in self.participants and not self.closed

    def signal(self, member: str, msg: Signal) -> None:
        self._spawn(self._signal(member, msg))

    def close(self) -> None:
        """Tear everything down (the room unloads, the call ended or went back to mesh)."""
        self.closed = True
        self._spawn(self._close_all())

    # ---- negotiation -------------------------------------------------------------------------

    async def _renegotiate(self, wanted: list[str]) -> None:
        async with self._lock:
            if self.closed:
                return
            for gone in [m for m in self.participants if m not in wanted]:
                participant = self.participants.pop(gone)
                for forward in participant.forwards.values():
                    forward.stop()  # ends its subscriptions: the others' tracks of it stop
                await self._close_pc(participant)
            for member in wanted:
                self.participants.setdefault(member, Participant(member))
            for member in wanted:
                await self._offer_locked(member, force=False)

    async def _offer_one(self, member: str) -> None:
        async with self._lock:
            if member in self.participants and not self.closed:
                await self._offer_locked(member)

    async def _offer_locked(self, member: str, *, force: bool = True) -> None:
        """A fresh offer to ``member``; while an earlier one awaits its answer (unless
        ``force``), only noted: an answer must always match the offer still current."""
        participant = self.participants[member]
        pending = participant.pc is not None and participant.pc.signalingState == "have-local-offer"
        if pending and not force:
            participant.stale = True
            return
        participant.stale = False
        await self._close_pc(participant)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        participant.pc = pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if participant.pc is pc and track.kind in participant.forwards:
                participant.forwards[track.kind].feed(track)

        for kind in KINDS:  # the participant's own media, up
            pc.addTransceiver(kind, direction="recvonly")
        for other in self.participants.values():  # everyone else's, down
            if other.member == member:
                continue
            for kind, forward in other.forwards.items():
                track = self._fanout.subscribe(forward)
                track._id = f"{other.member}:{kind}"  # the label the client reads (msid track id)
                sender = pc.addTransceiver(track, direction="sendonly").sender
                sender._stream_id = other.member
        await pc.setLocalDescription(await pc.createOffer())
        self._send(member, SignalRelay(from_="", kind="offer", sdp=pc.localDescription.sdp))

    async def _signal(self, member: str, msg: Signal) -> None:
        async with self._lock:
            participant = self.participants.get(member)
            pc = participant.pc if participant is not None else None
            if participant is None or pc is None:
                return
            try:
                if msg.kind == "answer" and msg.sdp is not None and pc.signalingState == "have-local-offer":
                    await pc.setRemoteDescription(RTCSessionDescription(sdp=msg.sdp, type="answer"))
                    if participant.stale:
                        await self._offer_locked(member)
                elif msg.kind == "candidate" and msg.candidate:
                    candidate = candidate_from_sdp(msg.candidate.removeprefix("candidate:"))
                    candidate.sdpMid, candidate.sdpMLineIndex = msg.mid, msg.mline
                    await pc.addIceCandidate(candidate)
                elif msg.kind == "bye":
                    await self._close_pc(participant)
                # an offer from a participant: the relay always offers itself, ignored
            except Exception as exc:  # a bad answer ends that participant's connection only
                log.warning("relay: signal refused", member=member, kind=msg.kind, error=repr(exc))
                if msg.kind == "answer":  # maybe to an offer of the relay's previous node: anew
                    await self._offer_locked(member)
                else:
                    await self._close_pc(participant)

    async def _close_pc(self, participant: Participant) -> None:
        pc, participant.pc = participant.pc, None
        for forward in participant.forwards.values():
            forward.feed(None)
        if pc is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await pc.close()

    async def _close_all(self) -> None:
        async with self._lock:
            for participant in self.participants.values():
                for forward in participant.forwards.values():
                    forward.stop()
                await self._close_pc(participant)
            self.participants.clear()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("relay task failed", error=repr(task.exception()))
