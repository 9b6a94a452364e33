"""The sans-I/O room session against a simulated server, with hypothesis.

A small model server keeps the room's log, answers hellos (recovered or snapshot),
sequences the ops it receives (idempotent per ref), and lets hypothesis reorder, drop,
duplicate and close. Whatever happens: the state the session folded is the fold of a
prefix of the server's log, no op is applied twice, and every submitted op ends in
exactly one place (pending, done, failed, abandoned before it was sent, or failed by the
final stop).
"""

from __future__ import annotations

import ast
import random
from collections import deque
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cosession_client.outputs as outputs_module
import cosession_client.session as session_module
from cosession_client.session import (
    Deliver,
    Done,
    Failed,
    Open,
    Output,
    Send,
    Session,
    SessionSettings,
    Stopped,
    Timer,
)
from protocol.messages import Ack, Chat, Error, Event, Hello, Op, RoomState, Welcome
from protocol.reducer import fold
from protocol.vectors.session_json import LIMITS, ev

RETRYABLE = [1001, 1006, 1011, 1012, 4008, 4009, 4029]
CODES = [*RETRYABLE * 6, 1000, 1009, 4000, 4001, 4003, 4005, 4010]
ACTIONS = [
    "deliver",
    "deliver",
    "deliver",
    "other",
    "commit",
    "commit",
    "submit",
    "submit",
    "tick",
    "open",
    "dup",
    "lose",
    "close",
    "reject",
    "unavailable",
    "abandon",
    "epoch",
]


class Model:
    """The server side of one member's connections, plus the bookkeeping of refs."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.log: list[Event] = [ev(1), ev(2)]
        self.epoch = "e1"
        self.by_ref: dict[str, int] = {}  # ref -> seq, the server's idempotency table
        self.bodies: dict[str, Chat] = {}
        self.live = False  # the current connection is welcomed
        self.opening = False  # the session asked for a connection
        self.resume: Any = None
        self.outbox: deque[Any] = deque()  # frames queued to the live connection
        self.in_flight: list[str] = []  # op refs received on the live connection
        self.now = 0
        self.timer: int | None = None
        self.done: dict[str, int] = {}
        self.failed: set[str] = set()
        self.stopped: Stopped | None = None
        self.submitted: list[str] = []

    def append(self, body: Any, by: str) -> Event:
        seq = len(self.log) + 1
        event = Event(seq=seq, ts=seq, by=by, op=body)
        self.log.append(event)
        if self.live:
            self.outbox.append(event)
        return event

    def take(self, outs: list[Output]) -> None:
        for out in outs:
            if isinstance(out, Open):
                self.opening, self.resume, self.live = True, out.resume, False
            elif isinstance(out, Send):
                msg = out.msg
                if isinstance(msg, Op):
                    assert isinstance(msg.op, Chat) and msg.op == self.bodies[msg.ref]  # same ref, same body
                    self.in_flight.append(msg.ref)
                else:
                    assert isinstance(msg, Hello) or self.live
            elif isinstance(out, Timer):
                self.timer = out.at
            elif isinstance(out, Done):
                assert out.ref not in self.done and out.ref not in self.failed
                assert self.by_ref[out.ref] == out.seq
                self.done[out.ref] = out.seq
            elif isinstance(out, Failed):
                assert out.ref not in self.done and out.ref not in self.failed
                self.failed.add(out.ref)
            elif isinstance(out, Stopped):
                self.stopped = out
                self.live = self.opening = False
            elif isinstance(out, Deliver):
                pass
            else:  # Drop / Close: this connection is gone
                self.live = self.opening = False
                self.outbox.clear()
                self.in_flight.clear()

    def welcome(self, recovered: bool) -> Welcome:
        head = len(self.log)
        common: dict[str, Any] = {"room": "r", "member": "bo", "role": "member", "epoch": self.epoch, "seq": head}
        common["limits"] = LIMITS if self.rng.random() < 0.5 else None  # paced or not
        resume = self.resume
        if recovered and resume is not None and resume.epoch == self.epoch and resume.seq <= head:
            return Welcome(**common, recovered=True, events=self.log[resume.seq :])
        return Welcome(**common, recovered=False, snapshot=fold(self.log))


def check(model: Model, session: Session) -> None:
    seq = session.room.seq
    assert msgspec.to_builtins(session.room) == msgspec.to_builtins(fold(model.log[:seq]))
    applied = [e.op.text for e in model.log if e.by == "bo" and isinstance(e.op, Chat)]
    assert len(applied) == len(set(applied)), "an op was applied twice"
    awaiting = {op.ref for op in session.awaiting}
    stopped = set(model.stopped.refs) if model.stopped is not None else set()
    for ref in model.submitted:
        places = [
            ref in session.pending,
            ref in awaiting,
            ref in model.done,
            ref in model.failed,
            ref in stopped,
        ]
        assert sum(places) <= 1, (ref, places)
        if sum(places) == 0:  # only an op abandoned before its frame went out may vanish
            assert ref not in model.by_ref, ref


def step(model: Model, session: Session, action: str, rng: random.Random) -> None:
    now = model.now = model.now + rng.randint(0, 400)
    if action == "submit":
        ref = f"a-{len(model.submitted) + 1}"
        model.submitted.append(ref)
        model.bodies[ref] = Chat(text=ref)
        model.take(session.submit(now, ref, model.bodies[ref]))
    elif action == "abandon" and session.pending:
        model.take(session.abandon(now, rng.choice(list(session.pending))))
    elif action == "tick" and model.timer is not None:
        model.now = max(now, model.timer)
        model.take(session.tick(model.now))
    elif action == "open" and model.opening:
        model.opening = False
        model.take(session.opened(now))
        if rng.random() < 0.9:
            model.live = True
            model.outbox.clear()
            model.in_flight.clear()
            model.take(session.received(now, model.welcome(recovered=rng.random() < 0.7)))
    elif not model.live:
        return
    elif action == "deliver" and model.outbox:
        model.take(session.received(now, model.outbox.popleft()))
    elif action == "other":
        model.append(Chat(text=f"other {len(model.log)}"), "ana")
    elif action in ("commit", "reject", "unavailable") and model.in_flight:
        ref = model.in_flight.pop(rng.randrange(len(model.in_flight)))
        if action == "commit":
            if ref not in model.by_ref:
                model.by_ref[ref] = model.append(model.bodies[ref], "bo").seq
            frame = Ack(ref=ref, seq=model.by_ref[ref])
            if rng.random() < 0.5:
                model.outbox.appendleft(frame)
            else:
                model.outbox.append(frame)
        elif ref not in model.by_ref:  # a sequenced ref is only ever acked again
            code = "not_found" if action == "reject" else "unavailable"
            model.outbox.append(Error(code=code, message=code, ref=ref))
    elif action == "dup" and session.room.seq > 0:
        model.take(session.received(now, model.log[rng.randrange(session.room.seq)]))
    elif action == "lose" and model.outbox:
        model.outbox.popleft()  # a frame the server never sent: a gap (or a lost ack)
    elif action == "close":
        model.live = False
        model.take(session.closed(now, rng.choice(CODES), "bye"))
    elif action == "epoch":
        model.epoch = f"e{int(model.epoch[1:]) + 1}"
        model.live = False
        model.take(session.closed(now, 4009, "resync"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), actions=st.lists(st.sampled_from(ACTIONS), min_size=5, max_size=150))
def test_session_folds_a_prefix_of_the_log_and_never_loses_an_op(seed: int, actions: list[str]) -> None:
    rng = random.Random(seed)
    model = Model(rng)
    session = Session(SessionSettings(token="t", backoff_ms=(10, 200), stable_ms=300), rng.random)
    model.take(session.start(0))
    for action in actions:
        step(model, session, action, rng)
        check(model, session)
        if model.stopped is not None:
            assert session.state == "closed" and not session.pending and not session.awaiting
            break


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_a_cooperative_server_gets_every_op_applied_once(seed: int) -> None:
    """Only retryable trouble (drops, 1006, 4009, unavailable): every op ends done."""
    rng = random.Random(seed)
    model = Model(rng)
    session = Session(SessionSettings(token="t", backoff_ms=(10, 200)), rng.random)
    model.take(session.start(0))
    for i in range(40):
        model.submitted.append(f"a-{i + 1}")
        model.bodies[f"a-{i + 1}"] = Chat(text=f"a-{i + 1}")
        model.take(session.submit(model.now, f"a-{i + 1}", model.bodies[f"a-{i + 1}"]))
        trouble = rng.choice(["lose", "unavailable", "dup", "epoch", "deliver"])
        for action in [trouble, *["open", "tick", "commit", "deliver", "deliver"] * 3]:
            step(model, session, action if action != "close" else "deliver", rng)
            check(model, session)
    for _ in range(2000):  # settle: bounded
        if len(model.done) == 40:
            break
        action = rng.choice(["open", "tick", "commit", "deliver", "deliver", "other"])
        if not model.outbox and not model.in_flight and model.live:
            action = "tick" if model.timer is not None else "close"
            if action == "close":
                model.live = False
                model.take(session.closed(model.now, 1006, "stuck: resend everything"))
                continue
        step(model, session, action, rng)
        check(model, session)
    assert len(model.done) == 40 and model.stopped is None
    assert sorted(model.done.values()) == sorted(model.by_ref.values())


def _imports(path: str) -> set[str]:
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    return imported


def test_session_module_does_no_io() -> None:
    """The session (and the one client module it uses) imports no socket, asyncio,
    websockets, transport, clock or randomness: only pure code."""
    allowed = {"__future__", "math", "collections", "collections.abc", "dataclasses", "typing", "msgspec"}
    pure_protocol = {"protocol.errors", "protocol.messages", "protocol.reducer"}
    for module in (session_module, outputs_module):
        assert module.__file__ is not None
        imported = _imports(module.__file__)
        client_modules = {name for name in imported if name.startswith("cosession_client")}
        assert client_modules <= {"cosession_client.outputs"}, client_modules
        assert imported - client_modules <= allowed | pure_protocol, imported - client_modules - allowed


def test_state_after_a_snapshot_is_replaced_not_merged() -> None:
    session = Session(SessionSettings(token="t"), lambda: 0.5)
    session.start(0)
    session.opened(1)
    session.received(
        2,
        Welcome(room="r", member="bo", role="member", epoch="e", seq=2, recovered=False, snapshot=fold([ev(1), ev(2)])),
    )
    assert isinstance(session.room, RoomState) and session.room.seq == 2 and session.state == "live"
