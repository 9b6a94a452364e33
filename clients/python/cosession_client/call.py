"""``Call``: a ``RoomClient``'s part in the room's call, with aiortc (mesh or relay mode).

Signaling is SPEC section 14: ``call.join`` answers with the roster (``call``); of two
participants the later one in the roster sends the offer, the other answers; aiortc puts
its ICE candidates in the SDP (no trickle), and candidates trickled by a browser are
added as they come. Each peer gets the local tracks (through a ``MediaRelay``, so one
source feeds every peer) and, from the offerer, a data channel ``cosession``. Received
frames are counted per member and kind; data-channel messages land in ``data``.

In ``relay`` mode (``call {mode: relay}``) the client opens no mesh peer: the server's
relay (address ``""``) offers one peer connection carrying our tracks up and everyone
else's down, each m-line labelled by its ``msid`` (stream id = member id; frames are
counted under that member). When the roster changes the relay re-offers: an offer with the
same DTLS fingerprint as its previous one is applied to the existing connection (no new
ICE set-up; new m-lines bring the newcomer's tracks), any other offer gets a new
connection. A member's tracks are dropped when the member leaves ``call.members``. Mesh
peers close once the relay connection is up. No data channel goes through the relay.

Needs the ``calls`` extra (aiortc, numpy). ICE servers default to the welcome's
(``welcome.ice``: STUN and TURN with the member's TURN REST credentials); pass
``ice_servers=[]`` to stay on host candidates, ``relay_only=True`` to force TURN.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcconfiguration import RTCBundlePolicy, RTCIceTransportPolicy
from aiortc.sdp import candidate_from_sdp

from cosession_client.call_media import synthetic_tracks
from cosession_client.call_sdp import fingerprints, msid_streams
from cosession_client.errors import ConnectionClosedFinal
from cosession_client.outputs import Resynced
from protocol.messages import CallInfo, CallJoin, CallLeave, CallStateChange, IceServer, Signal, SignalRelay

if TYPE_CHECKING:
    from cosession_client.client import RoomClient

CLOSE_TIMEOUT = 5.0  # seconds a peer connection may take to close
RELAY = ""  # the server's relay, as a signal address


def relayed_member(track: MediaStreamTrack) -> str:
    """Whose track the relay forwards: its track id is ``<member id>:<kind>`` (SPEC 14.6)."""
    return track.id.rpartition(":")[0]


@dataclass
class Peer:
    member: str
    pc: RTCPeerConnection
    channel: RTCDataChannel | None = None
    channel_open: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    by_member: dict[str, list[asyncio.Task[None]]] = field(default_factory=dict)  # relay: whose tracks
    fingerprints: frozenset[str] = frozenset()  # relay: of its last offer on this connection
    streams: dict[str, str] = field(default_factory=dict)  # relay: msid stream id (member) by mid


class Call:
    def __init__(
        self,
        client: RoomClient,
        *,
        audio: bool = True,
        video: bool = False,
        tracks: list[MediaStreamTrack] | None = None,
        ice_servers: list[IceServer] | None = None,
        relay_only: bool = False,
    ) -> None:
        self.client = client
        self.audio, self.video = audio, video
        self.sources = synthetic_tracks(audio, video) if tracks is None else tracks
        self._relay = MediaRelay()
        self._ice = ice_servers
        self.relay_only = relay_only
        self.members: list[str] = []
        self.mode = "mesh"
        self.peers: dict[str, Peer] = {}
        self.frames: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.data: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.ended: set[tuple[str, str]] = set()  # (member, kind) whose track ended
        self.errors: list[str] = []  # what went wrong with a peer (for tests and logs)
        self.relay_connections = 0  # peer connections opened to the relay (re-offers reuse one)
        self._task: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()  # peer connections being closed
        self._changed = asyncio.Condition()

    # ---- joining and leaving -------------------------------------------------------------

    async def join(self) -> None:
        """Join the room's call (and again after every reconnect)."""
        messages = self.client.messages()
        self._task = asyncio.create_task(self._run(messages))
        self.client.send_call(CallJoin(audio=self.audio, video=self.video))

    async def leave(self) -> None:
        with contextlib.suppress(ConnectionError):
            self.client.send_call(CallLeave())
        await self.close()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            # bounded: a library call that swallows the cancellation must not hang a leave
            await asyncio.wait({self._task}, timeout=CLOSE_TIMEOUT)
            if self._task.done() and not self._task.cancelled():
                with contextlib.suppress(ConnectionClosedFinal):  # kicked: ended already
                    self._task.result()
        for member in list(self.peers):
            await self._drop(member)
        if self._closing:  # closes started by the signaling task, which was cancelled above
            await asyncio.wait(set(self._closing), timeout=CLOSE_TIMEOUT)
        for track in self.sources:
            track.stop()

    def set_state(self, *, muted: bool | None = None, camera: bool | None = None, speaking: bool | None = None) -> None:
        self.client.send_call(CallStateChange(muted=muted, camera=camera, speaking=speaking))

    # ---- waiting (tests, kiosk scripts) ------------------------------------------------------

    async def wait_for(self, predicate: Any, timeout: float = 20.0) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    async def wait_frames(self, member: str, kind: str, count: int, timeout: float = 20.0) -> int:
        await self.wait_for(lambda: self.frames[member][kind] >= count, timeout)
        return self.frames[member][kind]

    async def send_data(self, member: str, text: str, timeout: float = 20.0) -> None:
        """Send on the data channel with ``member`` (waits until it is open)."""

        def is_open() -> bool:
            peer = self.peers.get(member)
            return peer is not None and peer.channel is not None and peer.channel_open.is_set()

        await self.wait_for(is_open, timeout)
        channel = self.peers[member].channel
        assert channel is not None
        channel.send(text)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ---- signaling -------------------------------------------------------------------------------

    async def _run(self, messages: Any) -> None:
        async with messages:
            async for msg in messages:
                try:
                    if isinstance(msg, CallInfo):
                        await self._roster(msg)
                    elif isinstance(msg, SignalRelay):
                        await self._signal(msg)
                    elif isinstance(msg, Resynced):  # a new connection: take the call there
                        with contextlib.suppress(ConnectionError):
                            self.client.send_call(CallJoin(audio=self.audio, video=self.video))
                except Exception as exc:  # one bad peer must not end the call
                    self.errors.append(f"{type(msg).__name__}: {exc!r}")
                await self._notify()

    async def _roster(self, info: CallInfo) -> None:
        self.members, self.mode = list(info.members), info.mode
        me = self.client.member
        for member in [m for m in self.peers if m not in info.members and m != RELAY]:
            await self._drop(member)
        self._forget_relayed(info.members)
        if me not in info.members:
            return
        if info.mode == "relay":  # the relay offers; mesh peers close once it is connected
            return
        if RELAY in self.peers:  # back to mesh
            await self._drop(RELAY)
        mine = info.members.index(me)
        for member in info.members[:mine]:  # everyone who was there before me: I call them
            if member not in self.peers:
                await self._offer(member)

    def _forget_relayed(self, members: list[str]) -> None:
        """Stop counting the relayed tracks of members who left the roster (their m-lines go
        inactive on the relay connection; we do not wait for their tracks to end)."""
        relay = self.peers.get(RELAY)
        if relay is None:
            return
        for member in [m for m in relay.by_member if m not in members]:
            for task in relay.by_member.pop(member):
                task.cancel()

    async def _offer(self, member: str) -> None:
        peer = self._peer(member)
        kinds = {source.kind for source in self.sources}
        for source in self.sources:
            peer.pc.addTrack(self._relay.subscribe(source))
        for kind in ("audio", "video"):  # receive both, whatever we send: no renegotiation later
            if kind not in kinds:
                peer.pc.addTransceiver(kind, direction="recvonly")
        peer.channel = peer.pc.createDataChannel("cosession")
        self._watch_channel(peer, peer.channel)
        await peer.pc.setLocalDescription(await peer.pc.createOffer())
        self._send(Signal(to=member, kind="offer", sdp=peer.pc.localDescription.sdp))

    async def _signal(self, msg: SignalRelay) -> None:
        member = msg.from_
        if msg.kind == "offer" and msg.sdp is not None:
            peer = self.peers.get(member)
            if peer is not None and not (member == RELAY and self._same_relay_connection(peer, msg.sdp)):
                await self._drop(member)  # a renegotiation from scratch: start over
                peer = None
            fresh = peer is None
            if peer is None:
                peer = self._peer(member)
            if member == RELAY:
                peer.fingerprints = fingerprints(msg.sdp)
                peer.streams.update(msid_streams(msg.sdp))
            await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=msg.sdp, type="offer"))
            offered = {t.kind for t in peer.pc.getTransceivers()}
            for source in self.sources if fresh else []:  # into the offer's m-lines of the same kind
                if source.kind in offered:
                    peer.pc.addTrack(self._relay.subscribe(source))
            await peer.pc.setLocalDescription(await peer.pc.createAnswer())
            self._send(Signal(to=member, kind="answer", sdp=peer.pc.localDescription.sdp))
        elif msg.kind == "answer" and msg.sdp is not None and member in self.peers:
            pc = self.peers[member].pc
            await pc.setRemoteDescription(RTCSessionDescription(sdp=msg.sdp, type="answer"))
        elif msg.kind == "candidate" and msg.candidate and member in self.peers:
            candidate = candidate_from_sdp(msg.candidate.removeprefix("candidate:"))
            candidate.sdpMid, candidate.sdpMLineIndex = msg.mid, msg.mline
            await self.peers[member].pc.addIceCandidate(candidate)
        elif msg.kind == "bye":
            await self._drop(member)

    @staticmethod
    def _same_relay_connection(peer: Peer, sdp: str) -> bool:
        """SPEC 14.6: a relay offer with the fingerprint of its previous one on our connection
        is a re-offer on that connection (applied in place); anything else is a new one."""
        return bool(peer.fingerprints) and fingerprints(sdp) == peer.fingerprints and peer.pc.signalingState == "stable"

    def _send(self, msg: Signal) -> None:
        with contextlib.suppress(ConnectionError):
            self.client.send_call(msg)

    # ---- peers ---------------------------------------------------------------------------------

    def _configuration(self, member: str) -> RTCConfiguration:
        servers = self.client.ice_servers if self._ice is None else self._ice
        ice = [RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential) for s in servers]
        policy = RTCIceTransportPolicy.RELAY if self.relay_only else RTCIceTransportPolicy.ALL
        # The relay's offer has many m-lines of one kind. With aiortc's default (balanced) the
        # 2nd+ of a kind would share the 1st one's transport, be marked bundled, and stay on that
        # transport when BUNDLE moves the 1st onto mid 0's: the relay's video but the 1st is lost.
        bundle = RTCBundlePolicy.MAX_BUNDLE if member == RELAY else RTCBundlePolicy.BALANCED
        return RTCConfiguration(iceServers=ice, iceTransportPolicy=policy, bundlePolicy=bundle)

    def _peer(self, member: str) -> Peer:
        pc = RTCPeerConnection(self._configuration(member))
        peer = Peer(member, pc)
        self.peers[member] = peer
        if member == RELAY:
            self.relay_connections += 1

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            sender = self._relayed_member(peer, track) if member == RELAY else member
            task = asyncio.create_task(self._consume(sender, track))
            peer.tasks.append(task)
            if member == RELAY:
                peer.by_member.setdefault(sender, []).append(task)

        @pc.on("datachannel")
        def on_datachannel(channel: RTCDataChannel) -> None:
            peer.channel = channel
            self._watch_channel(peer, channel)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState == "failed":
                self.errors.append(f"{member}: connection failed")
            if member == RELAY and pc.connectionState == "connected" and self.mode == "relay":
                for other in [m for m in self.peers if m != RELAY]:  # the relay carries them now
                    await self._drop(other)
            await self._notify()

        return peer

    @staticmethod
    def _relayed_member(peer: Peer, track: MediaStreamTrack) -> str:
        """Whose track the relay forwards on this m-line: its msid stream id (the track id
        ``<member id>:<kind>`` if the m-line had none)."""
        mid = next((t.mid for t in peer.pc.getTransceivers() if t.receiver.track is track), None)
        return peer.streams.get(mid or "") or relayed_member(track)

    def _watch_channel(self, peer: Peer, channel: RTCDataChannel) -> None:
        if channel.readyState == "open":
            peer.channel_open.set()

        @channel.on("open")
        async def on_open() -> None:
            peer.channel_open.set()
            await self._notify()

        @channel.on("message")
        def on_message(message: str | bytes) -> None:
            text = message if isinstance(message, str) else message.decode(errors="replace")
            self.data.put_nowait((peer.member, text))

    async def _consume(self, member: str, track: MediaStreamTrack) -> None:
        kind = track.kind
        self.ended.discard((member, kind))
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                await track.recv()
                self.frames[member][kind] += 1
                await self._notify()
        self.ended.add((member, kind))

    async def _drop(self, member: str) -> None:
        peer = self.peers.pop(member, None)
        if peer is None:
            return
        for task in peer.tasks:
            task.cancel()
        # A close runs to its end in its own task even when the caller is cancelled (a half-closed
        # peer leaks its decoder threads, and those keep the process from exiting); the caller
        # waits a bounded time: closing deallocates TURN relays, an unanswered refresh must not
        # hang a leave.
        closing = asyncio.create_task(peer.pc.close())
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)
        await asyncio.wait({closing}, timeout=CLOSE_TIMEOUT)

    def connection_state(self, member: str) -> str:
        peer = self.peers.get(member)
        return "none" if peer is None else str(peer.pc.connectionState)

    def local_candidate_types(self, member: str) -> set[str]:
        """The ICE candidate types this side offered ``member`` (only ``relay`` when
        ``relay_only``: then any media that flows goes through TURN)."""
        peer = self.peers.get(member)
        description = peer.pc.localDescription if peer is not None else None
        if description is None:
            return set()
        return {line.split(" typ ")[1].split()[0] for line in description.sdp.splitlines() if " typ " in line}
