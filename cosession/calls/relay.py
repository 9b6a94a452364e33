"""The server's media relay for one room's call (SPEC section 14.6, ``relay`` mode).

Each participant holds ONE ``RTCPeerConnection`` to the server (signals ``to: ""``,
answered ``from: ""``), with every m-line bundled on one transport (``max-bundle``).
The server always offers: the first two m-lines receive the
participant's own audio and video, then one ``sendonly`` m-line per track of every other
participant, labelled in the SDP ``msid``: stream id = the member id, track id =
``<member id>:<kind>``.

A participant's upstream is wrapped in a ``Forward`` track that outlives its peer
connection, and fanned out with aiortc's ``MediaRelay`` (one subscription per receiver).

A roster change renegotiates in place: each participant's EXISTING connection gets a new
offer (same DTLS certificate and ICE credentials, so no new ICE set-up and no gap in the
others' media) with a new ``sendonly`` m-line per track of a newcomer, appended, and the
m-lines of a departed member set ``inactive`` (transceiver stopped, never reused for
another member). aiortc 1.16 can do this: ``createOffer`` in ``stable`` keeps the
negotiated m-lines in order and appends new transceivers (bundled on the existing
transport), and ``setRemoteDescription(answer)`` starts the new senders. It cannot reject
an m-line (``port 0``) nor recycle one, so inactive m-lines stay in every later offer. A
NEW connection (new certificate, new ICE set-up) is offered only for the first offer, a
rejoin from another connection, at once after an answer the relay could not apply (one to
an offer of a previous node, or garbage), past ``max_inactive`` inactive m-lines, or when
the inactive m-lines alone would push the offer past ``max_sdp_bytes``. An offer made while an earlier one awaits its
answer waits for it: an answer always matches the relay's current offer.

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
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import candidate_from_sdp
from av.frame import Frame
from av.packet import Packet

from cosession.calls import audio_level
from protocol.messages import MAX_SDP_CHARS, Signal, SignalRelay

log = structlog.get_logger("cosession.relay")
audio_level.install()  # aiortc's per-frame audio level with numpy: half the relay's audio CPU

CLOSE_TIMEOUT = 5.0  # seconds a peer connection may take to close
MAX_INACTIVE = 8  # inactive m-lines (of departed members) a connection carries before a new one
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
class Downlink:
    """The m-lines of one participant's connection that carry another participant's tracks."""

    source: Participant  # the object: a member who left and came back is a new one
    transceivers: list[RTCRtpTransceiver]


@dataclass
class Participant:
    member: str
    forwards: dict[str, Forward] = field(default_factory=lambda: {k: Forward(k) for k in KINDS})
    pc: RTCPeerConnection | None = None
    down: dict[str, Downlink] = field(default_factory=dict)  # by member, on ``pc``
    inactive: int = 0  # m-lines of ``pc`` that went inactive (their member left)
    stale: bool = False  # the roster changed while our offer awaited its answer: offer again then


class CallRelay:
    """The relay of one room's call on this node."""

    def __init__(
        self, send: Send, max_participants: int, *, max_inactive: int = MAX_INACTIVE, max_sdp: int = MAX_SDP_CHARS
    ) -> None:
        self._send = send
        self.max = max_participants
        self.max_inactive = max_inactive
        self.max_sdp = max_sdp  # an offer past it, for its inactive m-lines alone, means a new connection
        self._fanout = MediaRelay()
        self.participants: dict[str, Participant] = {}
        self._lock = asyncio.Lock()  # negotiations happen one at a time
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = False

    # ---- from RoomCalls (synchronous: the work runs in tasks) ---------------------------

    def roster(self, members: list[str]) -> None:
        """The call's participants (in order); renegotiate with everyone if they changed."""
        wanted = members[: self.max]
        if list(self.participants) == wanted or self.closed:
            return
        self._spawn(self._renegotiate(wanted))

    def rejoined(self, member: str) -> None:
        """``member`` took the call to another connection: offer it a new peer connection there."""
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
            self.participants = {m: self.participants.get(m) or Participant(m) for m in wanted}
            for member in wanted:
                await self._sync(member)

    async def _offer_one(self, member: str) -> None:
        async with self._lock:
            if member in self.participants and not self.closed:
                await self._sync(member, fresh=True)

    async def _sync(self, member: str, *, fresh: bool = False) -> None:
        """Bring ``member``'s connection up to the roster: re-offer on it (in place), or offer a
        new one when ``fresh``, when there is none, or when inactive m-lines would pass
        ``max_inactive`` or make the offer pass ``max_sdp_bytes`` (the answer, about as large,
        would be refused). While an earlier offer awaits its answer (unless ``fresh``) the change
        is only noted: an answer must always match the offer still current."""
        participant = self.participants[member]
        pc = participant.pc
        if pc is not None and pc.signalingState == "have-local-offer" and not fresh:
            participant.stale = True
            return
        participant.stale = False
        departed = [link for m, link in participant.down.items() if self.participants.get(m) is not link.source]
        inactive = participant.inactive + sum(len(link.transceivers) for link in departed)
        if fresh or pc is None or pc.signalingState != "stable" or inactive > self.max_inactive:
            await self._new_pc(participant)
            return
        for link in departed:
            await self._retire(participant, link)
        if not (self._add_downlinks(participant, pc) or departed):
            return
        offer = await pc.createOffer()
        lines = offer.sdp.count("\r\nm=")
        size, live = len(offer.sdp), lines - participant.inactive
        if size > self.max_sdp and size * live <= self.max_sdp * lines:  # too big for its inactive m-lines
            await self._new_pc(participant)
            return
        await self._offer(participant, pc, offer)

    async def _retire(self, participant: Participant, link: Downlink) -> None:
        """A departed member's m-lines on ``participant``'s connection go inactive (never reused)."""
        del participant.down[link.source.member]
        participant.inactive += len(link.transceivers)
        for transceiver in link.transceivers:
            transceiver.direction = "inactive"
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await transceiver.stop()  # its sender ends (RTCP BYE): no more media on it

    async def _new_pc(self, participant: Participant) -> None:
        """A new peer connection (a new DTLS certificate, a new ICE set-up) and its offer."""
        await self._close_pc(participant)
        # max-bundle: every m-line on the first one's transport from the start. With aiortc's
        # default (balanced) the 2nd+ m-line of a kind shares the 1st one's transport and is
        # marked bundled, so when the answer moves the 1st video m-line onto the BUNDLE
        # transport (mid 0, audio) the others stay on the discarded one: no video but the 1st.
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        participant.pc = pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if participant.pc is pc and track.kind in participant.forwards:
                participant.forwards[track.kind].feed(track)

        for kind in KINDS:  # the participant's own media, up
            pc.addTransceiver(kind, direction="recvonly")
        self._add_downlinks(participant, pc)
        await self._offer(participant, pc)

    def _add_downlinks(self, participant: Participant, pc: RTCPeerConnection) -> bool:
        """New ``sendonly`` m-lines on ``pc`` for the tracks of every other participant it does
        not carry yet; whether there were any."""
        added = False
        for other in self.participants.values():
            if other is participant or other.member in participant.down:
                continue
            transceivers = []
            for kind, forward in other.forwards.items():
                track = self._fanout.subscribe(forward)
                track._id = f"{other.member}:{kind}"  # the label the client reads (msid track id)
                transceiver = pc.addTransceiver(track, direction="sendonly")
                transceiver.sender._stream_id = other.member
                transceivers.append(transceiver)
            participant.down[other.member] = Downlink(other, transceivers)
            added = True
        return added

    async def _offer(
        self, participant: Participant, pc: RTCPeerConnection, offer: RTCSessionDescription | None = None
    ) -> None:
        await pc.setLocalDescription(offer or await pc.createOffer())
        self._send(participant.member, SignalRelay(from_="", kind="offer", sdp=pc.localDescription.sdp))

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
                        await self._sync(member)
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
                    await self._new_pc(participant)
                else:
                    await self._close_pc(participant)

    async def _close_pc(self, participant: Participant) -> None:
        pc, participant.pc = participant.pc, None
        participant.down, participant.inactive, participant.stale = {}, 0, False
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
