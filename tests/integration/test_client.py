"""The Python client (``cosession_client.RoomClient``) against a real server subprocess.

No mocks: every test talks to ``cosession serve`` over real sockets. Waits are bounded
(``asyncio.timeout``) and wait for something concrete (an ack, a seq, a message).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import pytest

from cosession_client import (
    ConnectionClosedFinal,
    Disconnected,
    OpRejected,
    Resynced,
    RoomClient,
    Subscription,
    TooManyPending,
)
from cosession_client.errors import ApiError
from cosession_client.tolerant import decode_server
from protocol.codec import Codec, Format
from protocol.errors import CloseCode, ErrorCode, ProtocolError
from protocol.messages import CartAdd, Error, Event, FocusSignal, PresenceUpdate, Product, RoomState
from protocol.reducer import copy_state
from tests.support.server import ServerProcess

WAIT = 10.0
FAST = (0.02, 0.2)  # reconnect backoff for tests that drop the socket again and again
SOCKS = Product(id="socks", name="Socks", price=499, currency="EUR")
SHOE = Product(id="shoe", name="Shoe", price=4999, currency="EUR", variant="42")

T = TypeVar("T")


def product(i: int) -> Product:
    return Product(id=f"p{i}", name=f"Product {i}", price=100 + i, currency="EUR")


def as_data(state: RoomState) -> Any:
    return msgspec.to_builtins(state)


def event_seqs(items: list[Any]) -> list[int]:
    return [item.seq for item in items if isinstance(item, Event)]


class Recorder:
    """Records every message a client yields (from the moment it is created), so a test
    can wait for one and afterwards check the whole stream."""

    def __init__(self, client: RoomClient) -> None:
        self.sub: Subscription = client.messages()
        self.items: list[Any] = []
        self.error: BaseException | None = None
        self._cursor = 0
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        try:
            async for item in self.sub:
                self.items.append(item)
                self._changed.set()
        except Exception as exc:
            self.error = exc
        finally:
            self._changed.set()

    async def next(self, kind: type[T], where: Callable[[T], bool] = lambda _: True) -> T:
        """The next recorded item (after the previous match) of ``kind`` matching ``where``."""
        async with asyncio.timeout(WAIT):
            while True:
                for index in range(self._cursor, len(self.items)):
                    item = self.items[index]
                    if isinstance(item, kind) and where(item):
                        self._cursor = index + 1
                        return item
                self._cursor = len(self.items)
                if self._task.done():
                    raise AssertionError(f"stream ended ({self.error!r}) before a {kind.__name__}")
                self._changed.clear()
                await self._changed.wait()

    def index(self, item: object) -> int:
        return next(i for i, x in enumerate(self.items) if x is item)

    def close(self) -> None:
        self.sub.close()


class Room:
    """An owner client and an invite link for friends."""

    def __init__(self, server: ServerProcess, created: dict[str, Any], owner: RoomClient) -> None:
        self.server = server
        self.created = created
        self.owner = owner
        self.invite_url: str = created["invite"]["url"]

    async def join(self, name: str, fmt: Format = "msgpack", **options: Any) -> RoomClient:
        client = await RoomClient.connect(self.invite_url, name=name, format=fmt, **options)
        # everyone has folded the member.join by the time this returns
        await self.owner.wait_for_seq(client.seq, WAIT)
        return client


@pytest.fixture
async def room(server: ServerProcess) -> AsyncIterator[Room]:
    created = await server.create_room(name="Weekend", owner_name="Olga")
    async with RoomClient.connect(created["token"], server=server.http_url) as owner:
        yield Room(server, created, owner)


# ---- joining ---------------------------------------------------------------------------


async def test_join_by_token(server: ServerProcess) -> None:
    created = await server.create_room(name="Weekend", owner_name="Olga")
    async with RoomClient.connect(created["token"], server=server.http_url) as owner:
        assert owner.connected
        assert (owner.room, owner.member, owner.role) == (created["room"], created["member"], "owner")
        assert owner.state.name == "Weekend"
        assert owner.state.members[owner.member].name == "Olga"
        assert owner.epoch and owner.seq == owner.state.seq >= 1
    # the WebSocket endpoint itself is accepted as the server address too
    async with RoomClient.connect(created["token"], server=server.ws_url) as again:
        assert again.member == created["member"]


async def test_join_by_invite_link(room: Room) -> None:
    async with await room.join("Bea") as bea:
        assert bea.role == "member"
        assert bea.room == room.owner.room
        assert bea.state.members[bea.member].name == "Bea"
        assert room.owner.state.members[bea.member].role == "member"
        assert as_data(bea.state) == as_data(room.owner.state)


async def test_bad_token_and_bad_invite_are_final(server: ServerProcess) -> None:
    created = await server.create_room()
    with pytest.raises(ConnectionClosedFinal) as closed:
        await RoomClient.connect(created["token"] + "x", server=server.http_url)
    assert closed.value.code == CloseCode.UNAUTHORIZED
    assert closed.value.error == ErrorCode.UNAUTHORIZED
    with pytest.raises(ApiError) as refused:
        await RoomClient.connect(f"{server.http_url}/r/i_doesnotexist", name="Bea")
    assert refused.value.status == 404


# ---- live collaboration ----------------------------------------------------------------


async def test_two_clients_see_each_others_ops(room: Room) -> None:
    owner = room.owner
    async with await room.join("Bea") as bea:
        seen_by_owner = Recorder(owner)
        line = await owner.add_to_cart(SOCKS, 2)
        # submit returns after the ack AND the event is folded locally (read-your-writes)
        assert [(item.line, item.qty) for item in owner.state.cart] == [(line, 2)]
        await bea.wait_for_seq(line, WAIT)
        assert bea.state.cart[0].product == SOCKS
        up = await bea.vote(line, "up")
        said = await bea.chat("2 pairs?", product=SOCKS)
        await owner.react(said, "👍")
        await owner.set_quantity(line, 3)
        shoe = await bea.add_to_cart(SHOE)
        await bea.wait_for_seq(owner.seq, WAIT)
        await owner.wait_for_seq(bea.seq, WAIT)
        assert as_data(owner.state) == as_data(bea.state)
        cart = {item.line: item for item in owner.state.cart}
        assert cart[line].qty == 3 and cart[line].votes == {bea.member: 1}
        assert cart[shoe].product == SHOE
        assert owner.state.chat[-1].reactions == {"👍": [owner.member]}
        # the owner's stream saw every event after it subscribed, in order, exactly once
        await seen_by_owner.next(Event, lambda e: e.seq == owner.seq)
        assert event_seqs(seen_by_owner.items) == list(range(line, owner.seq + 1))
        assert up in event_seqs(seen_by_owner.items)


async def test_presence_focus_and_ping(room: Room) -> None:
    owner = room.owner
    watching = Recorder(owner)
    async with await room.join("Bea") as bea:
        joined = await watching.next(PresenceUpdate, lambda p: p.member.member == bea.member)
        assert joined.kind == "join" and joined.member.name == "Bea"
        assert owner.presence[bea.member].device == "bot"
        assert owner.member in bea.presence
        await bea.set_focus(SHOE)
        focus = await watching.next(FocusSignal, lambda f: f.member == bea.member)
        assert focus.product == SHOE
        assert owner.focus[bea.member] == SHOE
        assert 0 < await bea.ping() < WAIT
    left = await watching.next(PresenceUpdate, lambda p: p.member.member == bea.member and p.kind == "leave")
    assert left.member.name == "Bea"
    assert bea.member not in owner.presence


async def test_rejected_ops_raise_with_the_right_code(room: Room) -> None:
    owner = room.owner
    async with await room.join("Bea") as bea:
        line = await owner.add_to_cart(SOCKS)
        await bea.wait_for_seq(line, WAIT)
        await bea.remove_line(line)
        with pytest.raises(OpRejected) as gone:
            await owner.remove_line(line)
        assert gone.value.code == ErrorCode.NOT_FOUND
        with pytest.raises(OpRejected) as not_owner:
            await bea.rename("Mine now")
        assert not_owner.value.code == ErrorCode.FORBIDDEN
        await owner.lock()
        await bea.wait_for_seq(owner.seq, WAIT)
        with pytest.raises(OpRejected) as locked:
            await bea.add_to_cart(SOCKS)
        assert locked.value.code == ErrorCode.ROOM_LOCKED
        # a schema violation is refused locally and never sent
        with pytest.raises(ValueError):
            await owner.set_quantity(line, 0)
        assert owner.pending == bea.pending == 0
        # rejected ops consumed no seq: both still agree
        await bea.wait_for_seq(owner.seq, WAIT)
        assert as_data(bea.state) == as_data(owner.state)


async def test_kicked_member_is_closed_for_good(room: Room) -> None:
    owner = room.owner
    bea = await room.join("Bea")
    events = bea.events()
    await owner.kick(bea.member)
    async with asyncio.timeout(WAIT):
        why = await bea.wait_closed()
    assert why is not None and why.code == CloseCode.FORBIDDEN
    assert bea.closed and not bea.connected
    with pytest.raises(ConnectionClosedFinal):
        async with asyncio.timeout(WAIT):
            async for _ in events:
                pass
    with pytest.raises(ConnectionClosedFinal):
        await bea.chat("let me back in")
    await bea.close()


# ---- reconnect and resume --------------------------------------------------------------


async def test_dropped_client_resumes_without_gaps_or_duplicates(room: Room) -> None:
    owner = room.owner
    async with await room.join("Bea") as bea:
        stream = Recorder(bea)
        start = bea.seq

        async def keep_editing() -> list[int]:
            seqs = []
            for i in range(60):
                seqs.append(await owner.chat(f"message {i}"))
                if i % 5 == 0:
                    seqs.append(await owner.add_to_cart(product(i)))
            return seqs

        editor = asyncio.create_task(keep_editing())
        # drop Bea's socket (no close frame, like a network loss) while the owner edits
        await stream.next(Event, lambda e: e.seq >= start + 4)
        bea._drop_connection()
        lost = await stream.next(Disconnected)
        assert lost.retrying and lost.code == 1006
        resynced = await stream.next(Resynced)
        assert resynced.recovered
        async with asyncio.timeout(WAIT):
            edited = await editor
        await bea.wait_for_seq(edited[-1], WAIT)
        assert as_data(bea.state) == as_data(owner.state)
        assert bea.reconnects == 1 and bea.violations == 0
        await stream.next(Event, lambda e: e.seq == edited[-1])
        # every event after subscribing, exactly once and in order, across the drop...
        assert event_seqs(stream.items) == list(range(start + 1, bea.seq + 1))
        # ...some of them replayed by the welcome (they precede Resynced)
        replayed = stream.items[stream.index(lost) : stream.index(resynced)]
        assert event_seqs(replayed), "the owner's edits should have continued while Bea was away"


async def test_repeated_drops_in_json(room: Room) -> None:
    owner = room.owner
    async with await room.join("Bea", "json", backoff=FAST) as bea:
        stream = Recorder(bea)
        start = bea.seq
        for round_ in range(3):
            await owner.chat(f"before drop {round_}")
            bea._drop_connection()
            for i in range(5):
                await owner.chat(f"while away {round_}.{i}")
            await stream.next(Resynced, lambda r: r.recovered)
            await bea.vote(await bea.add_to_cart(product(round_)), "up")
        await bea.wait_for_seq(owner.seq, WAIT)
        await owner.wait_for_seq(bea.seq, WAIT)
        assert bea.reconnects == 3
        assert as_data(bea.state) == as_data(owner.state)
        assert event_seqs(stream.items) == list(range(start + 1, bea.seq + 1))
        assert 0 < await bea.ping() < WAIT


async def test_a_gap_in_the_live_stream_triggers_a_resume(room: Room) -> None:
    owner = room.owner
    async with await room.join("Bea") as bea:
        stream = Recorder(bea)
        rewound = copy_state(bea.state)
        for i in range(3):
            await bea.wait_for_seq(await owner.chat(f"seen {i}"), WAIT)
        # make Bea forget the last three events: the next live one is then a gap
        bea._state = rewound
        await owner.chat("after the gap")
        resynced = await stream.next(Resynced)
        assert resynced.recovered and bea.violations == 1
        await bea.wait_for_seq(owner.seq, WAIT)
        assert as_data(bea.state) == as_data(owner.state)
        assert bea.state.chat[-1].text == "after the gap"


async def test_op_submitted_while_disconnected_applies_once(room: Room) -> None:
    owner = room.owner
    async with await room.join("Bea") as bea:
        stream = Recorder(bea)
        bea._drop_connection()
        await stream.next(Disconnected)
        assert not bea.connected
        queued = asyncio.create_task(bea.add_to_cart(SHOE, 3))
        away = await owner.chat("Bea is away")
        async with asyncio.timeout(WAIT):
            seq = await queued
        assert seq > away
        await stream.next(Resynced)
        await owner.wait_for_seq(seq, WAIT)
        for state in (bea.state, owner.state):
            shoes = [item for item in state.cart if item.product == SHOE]
            assert [(s.line, s.qty) for s in shoes] == [(seq, 3)]  # a second copy would merge: qty 6
        adds = [e for e in stream.items if isinstance(e, Event) and e.by == bea.member and isinstance(e.op, CartAdd)]
        assert [e.seq for e in adds] == [seq]
        assert bea.pending == 0


async def test_unacked_ops_are_resent_under_their_original_ref(room: Room) -> None:
    """Cut the socket right after each op is written: the server may or may not have
    sequenced it before the cut. Either way the re-send after resume applies it once."""
    owner = room.owner
    async with await room.join("Bea", backoff=FAST) as bea:
        stream = Recorder(bea)
        ops = []
        for i in range(10):
            ops.append(asyncio.create_task(bea.add_to_cart(product(i))))
            await asyncio.sleep(0)  # one scheduling step: the task writes its frame, then we cut
            bea._drop_connection()
            await stream.next(Resynced)
        async with asyncio.timeout(WAIT * 3):
            seqs = await asyncio.gather(*ops)
        assert seqs == sorted(seqs) and len(set(seqs)) == 10  # applied in submission order
        await owner.wait_for_seq(max(seqs), WAIT)
        for state in (bea.state, owner.state):
            # a duplicate add would have merged into its line: qty 2
            assert {item.product.id: item.qty for item in state.cart} == {f"p{i}": 1 for i in range(10)}
        assert as_data(bea.state) == as_data(owner.state)
        assert event_seqs(stream.items) == list(range(stream.sub.start_seq + 1, bea.seq + 1))
        # over loopback the first frame reaches the server before the cut, so some ops
        # were applied, their ack lost, and they came back in the replay: the re-send of
        # those was answered with the original seq instead of a second line
        replayed_own, away = [], False
        for item in stream.items:
            if isinstance(item, Disconnected | Resynced):
                away = isinstance(item, Disconnected)
            elif away and isinstance(item, Event) and item.by == bea.member:
                replayed_own.append(item.seq)
        assert replayed_own and set(replayed_own) <= set(seqs)


async def test_ops_queue_while_server_is_down_and_apply_after_restart(room: Room) -> None:
    owner = room.owner
    async with await room.join("Bea", max_pending=2) as bea:
        stream = Recorder(bea)
        before = await owner.add_to_cart(SOCKS)
        await bea.wait_for_seq(before, WAIT)
        room.server.kill()  # SIGKILL
        await stream.next(Disconnected)
        first = asyncio.create_task(bea.chat("one"))
        second = asyncio.create_task(bea.chat("two"))
        third = asyncio.create_task(bea.chat("three"))
        done, _ = await asyncio.wait({first, second, third}, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
        assert done == {third}
        with pytest.raises(TooManyPending):
            third.result()
        assert bea.pending == 2
        await room.server.start()
        async with asyncio.timeout(WAIT * 3):
            one, two = await asyncio.gather(first, second)
        assert before < one < two
        await stream.next(Resynced)
        await owner.wait_for_seq(two, WAIT * 3)
        assert as_data(bea.state) == as_data(owner.state)
        assert [m.text for m in bea.state.chat] == ["one", "two"]
        assert bea.state.cart[0].line == before  # the acked op survived kill -9


async def test_gives_up_after_bounded_attempts(room: Room) -> None:
    bea = await room.join("Bea", max_attempts=3)
    stream = Recorder(bea)
    room.server.kill()
    await stream.next(Disconnected)
    pending = asyncio.create_task(bea.chat("never"))
    async with asyncio.timeout(WAIT):
        why = await bea.wait_closed()
    assert why is not None and "gave up after 3 attempts" in why.reason
    with pytest.raises(ConnectionClosedFinal):
        async with asyncio.timeout(WAIT):
            await pending
    assert isinstance(stream.error, ConnectionClosedFinal)
    await bea.close()


@pytest.fixture
async def strict_server(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    """A server with a small op budget (20/s, burst 5), killed even if it fails to start."""
    proc = ServerProcess(tmp_path, "--ops-per-second", "20", "--ops-burst", "5")
    try:
        await proc.start()
        yield proc
    finally:
        proc.kill()


async def test_a_fast_client_paces_itself_instead_of_being_refused(strict_server: ServerProcess) -> None:
    server = strict_server
    created = await server.create_room()
    async with RoomClient.connect(created["token"], server=server.http_url) as owner:
        everything = Recorder(owner)
        seqs = await asyncio.gather(*(owner.chat(f"burst {i}") for i in range(25)))
        assert seqs == sorted(seqs)
        assert not [m for m in everything.items if isinstance(m, Error)]
        assert [m.text for m in owner.state.chat] == [f"burst {i}" for i in range(25)]


async def test_ops_refused_by_the_rate_limiter_are_resent_once(strict_server: ServerProcess) -> None:
    """The server refuses an op over its rate with `rate_limited` naming the op's ref: the
    client re-sends that op (same ref, idempotent) after a backoff until it is acked."""
    server = strict_server
    created = await server.create_room()
    async with RoomClient.connect(created["token"], server=server.http_url) as owner:
        everything = Recorder(owner)
        assert owner._pacer is not None
        owner._pacer.rate = 0  # test hook: disable self-pacing on this connection
        async with asyncio.timeout(WAIT * 3):
            seqs = await asyncio.gather(*(owner.add_to_cart(product(i)) for i in range(15)))
        assert [m for m in everything.items if isinstance(m, Error) and m.code == ErrorCode.RATE_LIMITED]
        assert len(set(seqs)) == 15
        assert {item.product.id: item.qty for item in owner.state.cart} == {f"p{i}": 1 for i in range(15)}


@pytest.mark.parametrize("fmt", ["msgpack", "json"])
def test_fields_added_by_a_newer_server_are_ignored(fmt: Format) -> None:
    """SPEC 12: clients ignore unknown fields (at any depth) and unknown message types."""
    codec = Codec(fmt)
    event = Event(seq=7, ts=1, by="m_1", op=CartAdd(product=SHOE, qty=2))
    raw = msgspec.to_builtins(event)
    raw["region"] = "eu"
    raw["op"]["gift"] = True
    raw["op"]["product"]["color"] = "red"
    frame = msgspec.json.encode(raw) if fmt == "json" else msgspec.msgpack.encode(raw)
    with pytest.raises(ProtocolError):
        codec.decode_server(frame)  # the shared codec is strict...
    assert decode_server(codec, frame) == event  # ...the client is not
    unknown = {"t": "hologram", "seq": 1}
    with pytest.raises(ProtocolError):
        decode_server(codec, msgspec.json.encode(unknown) if fmt == "json" else msgspec.msgpack.encode(unknown))
