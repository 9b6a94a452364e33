"""The relay's offer rules (SPEC section 14.6), driven in process: a real ``CallRelay`` and real
aiortc answerers on 127.0.0.1, no server. A roster change re-offers on the existing peer
connection (same DTLS fingerprint, new m-lines at the end, a departed member's inactive);
an offer made while an earlier one awaits its answer waits for it; a new connection (a new
fingerprint) comes only for a rejoin, after an answer the relay could not apply, or past the
bound on inactive m-lines."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from cosession.calls.relay import CallRelay
from cosession_client.call_sdp import fingerprints, msid_streams
from protocol.codec import JSON, MSGPACK
from protocol.messages import MAX_SDP_CHARS, Signal, SignalRelay
from tests.support.loopback_ice import loopback_only

TIMEOUT = 10.0
SDP_BOUND = 16_384  # a lower bound than max_sdp_bytes, reached with seven aiortc participants


class Answerer:
    """One participant's side: the client rule of SPEC 14.6 (same fingerprint: same connection)."""

    def __init__(self, relay: CallRelay, member: str) -> None:
        self.relay, self.member = relay, member
        self.pc: RTCPeerConnection | None = None
        self.connections = 0
        self.offer = ""

    async def answer(self, offer: str) -> None:
        if self.pc is None or fingerprints(offer) != fingerprints(self.offer):
            if self.pc is not None:
                await self.pc.close()
            self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            self.connections += 1
        self.offer = offer
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        self.relay.signal(self.member, Signal(to="", kind="answer", sdp=self.pc.localDescription.sdp))

    async def close(self) -> None:
        if self.pc is not None:
            await self.pc.close()


def mlines(sdp: str) -> list[tuple[str, str]]:
    """Each m-line's (msid stream id or "", direction)."""
    streams = msid_streams(sdp)
    found = []
    for section in sdp.split("\r\nm=")[1:]:
        lines = section.splitlines()
        mid = next(x.removeprefix("a=mid:") for x in lines if x.startswith("a=mid:"))
        direction = next(x[2:] for x in lines if x[2:] in ("sendonly", "recvonly", "sendrecv", "inactive"))
        found.append((streams.get(mid, "") if direction != "recvonly" else "", direction))
    return found


async def test_offers_in_place_wait_for_answers_and_start_over_when_needed() -> None:
    offers: dict[str, asyncio.Queue[str]] = defaultdict(asyncio.Queue)

    def send(member: str, msg: SignalRelay) -> None:
        assert msg.from_ == "" and msg.kind == "offer" and msg.sdp
        offers[member].put_nowait(msg.sdp)

    async def next_offer(member: str) -> str:
        async with asyncio.timeout(TIMEOUT):
            return await offers[member].get()

    with loopback_only():
        relay = CallRelay(send, 8, max_inactive=2)
        a, b, c = (Answerer(relay, m) for m in ("a", "b", "c"))
        try:
            relay.roster(["a"])
            first = await next_offer("a")
            assert mlines(first) == [("", "recvonly")] * 2  # its own audio and video, up
            await a.answer(first)

            relay.roster(["a", "b"])  # b joins: a's connection gets b's tracks, in place
            grown = await next_offer("a")
            assert fingerprints(grown) == fingerprints(first)
            assert mlines(grown) == [("", "recvonly")] * 2 + [("b", "sendonly")] * 2
            await b.answer(await next_offer("b"))

            relay.roster(["a", "b", "c"])  # a has not answered yet: its next offer waits
            await c.answer(await next_offer("c"))
            assert offers["a"].empty()
            await a.answer(grown)  # answered: now the offer with c
            with_c = await next_offer("a")
            assert fingerprints(with_c) == fingerprints(first)
            assert mlines(with_c)[4:] == [("c", "sendonly")] * 2
            await a.answer(with_c)
            await b.answer(await next_offer("b"))

            relay.roster(["a", "c"])  # b leaves: its m-lines go inactive, never reused
            without_b = await next_offer("a")
            assert fingerprints(without_b) == fingerprints(first)
            assert mlines(without_b) == [("", "recvonly")] * 2 + [("b", "inactive")] * 2 + [("c", "sendonly")] * 2
            await a.answer(without_b)
            await c.answer(await next_offer("c"))
            assert a.connections == 1 and c.connections == 1

            relay.roster(["a", "c", "b"])  # b back: new m-lines, the inactive ones stay
            back = await next_offer("a")
            assert mlines(back)[2:] == [("b", "inactive")] * 2 + [("c", "sendonly")] * 2 + [("b", "sendonly")] * 2
            await a.answer(back)
            await b.answer(await next_offer("b"))
            await c.answer(await next_offer("c"))

            relay.roster(["a", "b"])  # c leaves: 4 inactive m-lines, past the bound of 2
            fresh = await next_offer("a")
            assert fingerprints(fresh) != fingerprints(first)
            assert mlines(fresh) == [("", "recvonly")] * 2 + [("b", "sendonly")] * 2
            await a.answer(fresh)
            assert a.connections == 2
            await b.answer(await next_offer("b"))

            relay.rejoined("a")  # another connection of a's: a new peer connection
            rejoin = await next_offer("a")
            assert fingerprints(rejoin) not in (fingerprints(first), fingerprints(fresh))
            await a.answer(rejoin)

            relay.roster(["a", "b", "c"])  # c again: a and b re-offered in place
            for who in (a, b):
                assert fingerprints(await next_offer(who.member)) == fingerprints(who.offer)
            relay.signal("b", Signal(to="", kind="answer", sdp="not sdp"))  # unusable: a new connection at once
            renewed = await next_offer("b")
            assert fingerprints(renewed) != fingerprints(b.offer)
            await b.answer(renewed)
            assert b.connections == 3
            await c.answer(await next_offer("c"))
            relay.roster(["a", "b"])  # the next change: in place on b's new connection
            assert fingerprints(await next_offer("b")) == fingerprints(renewed)
            assert relay.serves("b") and not relay.serves("c")
        finally:
            relay.close()
            async with asyncio.timeout(TIMEOUT):
                while relay._tasks:
                    await asyncio.wait(set(relay._tasks))
            for answerer in (a, b, c):
                await answerer.close()


async def test_a_new_connection_when_inactive_m_lines_would_push_the_answer_past_max_sdp_bytes() -> None:
    offers: dict[str, asyncio.Queue[str]] = defaultdict(asyncio.Queue)
    members = ["a", "b", "c", "d", "e", "f", "g"]

    def send(member: str, msg: SignalRelay) -> None:
        offers[member].put_nowait(msg.sdp or "")

    async def answer_all(answerers: list[Answerer]) -> dict[str, str]:
        seen = {}
        for who in answerers:
            async with asyncio.timeout(TIMEOUT):
                seen[who.member] = await offers[who.member].get()
            await who.answer(seen[who.member])
        return seen

    with loopback_only():
        relay = CallRelay(send, 8, max_inactive=100, max_sdp=SDP_BOUND)
        answerers = [Answerer(relay, m) for m in members]
        try:
            relay.roster(members[:5])
            five = await answer_all(answerers[:5])
            relay.roster(members)  # larger than max_sdp_bytes, but not for inactive m-lines: in place
            seven = await answer_all(answerers)
            for m in members[:5]:
                assert len(seven[m]) > SDP_BOUND and fingerprints(seven[m]) == fingerprints(five[m])
            relay.roster(members[:5])  # f and g leave: only their 4 inactive m-lines would pass the bound
            after = await answer_all(answerers[:5])
            for m in members[:5]:
                assert fingerprints(after[m]) != fingerprints(seven[m])  # a new connection
                assert len(after[m]) <= SDP_BOUND and "inactive" not in [d for _, d in mlines(after[m])]
        finally:
            relay.close()
            async with asyncio.timeout(TIMEOUT):
                while relay._tasks:
                    await asyncio.wait(set(relay._tasks))
            for answerer in answerers:
                await answerer.close()


async def test_an_answer_to_a_full_relay_fits_max_sdp_bytes_in_both_codecs() -> None:
    """``call_relay_max`` (16) participants: an aiortc answer carries 32 m-lines (about 45 KB);
    it must pass the client decoder, or the participant gets no media (16 KiB refused n >= 6)."""
    members = [f"m{i:02d}" for i in range(16)]
    offers: dict[str, asyncio.Queue[str]] = defaultdict(asyncio.Queue)
    answers: list[Signal] = []

    def send(member: str, msg: SignalRelay) -> None:
        offers[member].put_nowait(msg.sdp or "")

    with loopback_only():
        relay = CallRelay(send, 16)
        relay.signal = lambda member, msg: answers.append(msg)  # type: ignore[method-assign]
        answerer = Answerer(relay, members[0])
        try:
            relay.roster(members)
            async with asyncio.timeout(60):
                await answerer.answer(await offers[members[0]].get())
            (answer,) = answers
            assert answer.sdp is not None and answer.sdp.count("\r\nm=") == 32
            assert len(answer.sdp) <= MAX_SDP_CHARS
            for codec in (JSON, MSGPACK):
                frame = codec.encode({"t": "signal", "to": "", "kind": "answer", "sdp": answer.sdp})
                assert len(frame) < 64 * 1024  # max_frame_bytes
                assert codec.decode_client(frame) == Signal(to="", kind="answer", sdp=answer.sdp)
        finally:
            await answerer.close()
            relay.close()
            async with asyncio.timeout(TIMEOUT):
                while relay._tasks:
                    await asyncio.wait(set(relay._tasks))
