"""The JSON form of the room session's cases (``session.json``, docs/client-session.md).

A case is ``{name, settings, random, steps: [{in, out, after}]}``. ``settings`` is the
complete session configuration, ``random`` the jitter draws the session takes in order
(all of them, no more), ``in`` one input, ``out`` the outputs it returns in order, and
``after`` what the session holds afterwards (state, seq, epoch, refs of un-acked ops).
Messages are in their JSON wire form, as in codec.json. The outputs are computed by the
Python session (``cosession_client.session``); ``session_cases.py`` lists the cases and
checks the claim each name makes. The same helpers drive the session for the pytest runner.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, fields
from typing import Any

import msgspec

from cosession_client.outputs import Disconnected, Output, Resynced, SessionSettings
from cosession_client.session import Session
from protocol.codec import JSON
from protocol.messages import (
    Ack,
    Chat,
    ClientOpBody,
    Error,
    Event,
    Limits,
    MemberJoin,
    Product,
    RoomCreate,
    Welcome,
    to_builtins,
)
from protocol.reducer import fold

# ---- conversions (shared with the pytest runner) -----------------------------------------


def settings_from_json(value: dict[str, Any]) -> SessionSettings:
    return SessionSettings(**{**value, "backoff_ms": tuple(value["backoff_ms"])})


def draws(values: list[float]) -> Callable[[], float]:
    """A ``random`` that returns ``values`` in order and fails when they run out."""
    it = iter(values)
    return lambda: next(it)


def feed(session: Session, step: dict[str, Any]) -> list[Output]:
    """Apply one JSON input to the session."""
    t, now = step["t"], step["now"]
    if t == "start":
        return session.start(now)
    if t == "opened":
        return session.opened(now)
    if t == "frame":
        return session.received(now, JSON.decode_server(json.dumps(step["msg"])))
    if t == "closed":
        return session.closed(now, step["code"], step["reason"], final=step.get("final", False))
    if t == "tick":
        return session.tick(now)
    if t == "submit":
        return session.submit(now, step["ref"], msgspec.json.decode(json.dumps(step["op"]), type=ClientOpBody))
    if t == "signal":
        msg = JSON.decode_client(json.dumps(step["msg"]))
        assert msg.__struct_config__.tag in ("focus", "typing", "follow", "ping")
        return session.signal(now, msg)  # type: ignore[arg-type]
    if t == "abandon":
        return session.abandon(now, step["ref"])
    if t == "close":
        return session.close(now)
    raise ValueError(f"unknown input {t!r}")


def output_json(out: Output) -> dict[str, Any]:
    """``{"do": <name>, <fields>}``: messages in their wire form, ``Stopped`` as "final"."""
    kind = type(out).__name__.lower()
    value: dict[str, Any] = {"do": "final" if kind == "stopped" else kind}
    for f in fields(out):
        value[f.name] = _plain(getattr(out, f.name))
    return value


def _plain(value: object) -> Any:
    if isinstance(value, Resynced | Disconnected):
        return {"t": type(value).__name__.lower(), **asdict(value)}
    if isinstance(value, tuple):
        return list(value)
    return to_builtins(value)


def after_json(session: Session) -> dict[str, Any]:
    return {"state": session.state, "seq": session.room.seq, "epoch": session.epoch, "pending": list(session.pending)}


# ---- fixtures ------------------------------------------------------------------------------

T0 = 1_767_225_600_000
SETTINGS: dict[str, Any] = {
    "token": "v1.tok.sig",
    "client": "python",
    "version": "0.1.0",
    "device": "bot",
    "reconnect": True,
    "max_attempts": None,
    "backoff_ms": [250, 30_000],
    "stable_ms": 5_000,
    "welcome_timeout_ms": 10_000,
}
LIMITS = Limits(
    max_frame_bytes=65536, ops_per_second=10.0, ops_burst=4, max_members=50, max_chat_chars=2000, max_cart_lines=200
)
SOCKS = Product(id="sku-1", name="Socks", price=500, currency="EUR")


def ev(seq: int) -> Event:
    """Event ``seq`` of the fixture room: 1 creates it, 2 lets bo join, then chat lines."""
    if seq == 1:
        return Event(seq=1, ts=T0 + 1000, by="", op=RoomCreate(name="Weekend", owner="ana", owner_name="Ana"))
    if seq == 2:
        return Event(seq=2, ts=T0 + 2000, by="", op=MemberJoin(member="bo", name="Bo", role="member"))
    return Event(seq=seq, ts=T0 + seq * 1000, by="ana", op=Chat(text=f"line {seq}"))


def welcome(seq: int, *, epoch: str = "e1", events: list[int] | None = None, limits: bool = False) -> dict[str, Any]:
    """A welcome at head ``seq``: recovered with ``events`` when given, else a snapshot."""
    common: dict[str, Any] = {"room": "r1", "member": "bo", "role": "member", "epoch": epoch, "seq": seq}
    lim = LIMITS if limits else None
    if events is not None:
        msg = Welcome(**common, recovered=True, events=[ev(s) for s in events], limits=lim)
    else:
        msg = Welcome(**common, recovered=False, snapshot=fold([ev(s) for s in range(1, seq + 1)]), limits=lim)
    return msg_json(msg)


def msg_json(msg: object) -> dict[str, Any]:
    value = to_builtins(msg)
    assert isinstance(value, dict)
    return value


def event(seq: int) -> dict[str, Any]:
    return msg_json(ev(seq))


def ack(ref: str, seq: int) -> dict[str, Any]:
    return msg_json(Ack(ref=ref, seq=seq))


def error(code: str, message: str, ref: str | None = None) -> dict[str, Any]:
    return msg_json(Error(code=code, message=message, ref=ref))


def chat(text: str) -> dict[str, Any]:
    return msg_json(Chat(text=text))


def i_start(now: int = 0) -> dict[str, Any]:
    return {"t": "start", "now": now}


def i_opened(now: int) -> dict[str, Any]:
    return {"t": "opened", "now": now}


def i_frame(now: int, msg: dict[str, Any]) -> dict[str, Any]:
    return {"t": "frame", "now": now, "msg": msg}


def i_closed(now: int, code: int, reason: str = "", *, final: bool = False) -> dict[str, Any]:
    step: dict[str, Any] = {"t": "closed", "now": now, "code": code, "reason": reason}
    if final:
        step["final"] = True
    return step


def i_tick(now: int) -> dict[str, Any]:
    return {"t": "tick", "now": now}


def i_submit(now: int, ref: str, op: dict[str, Any]) -> dict[str, Any]:
    return {"t": "submit", "now": now, "ref": ref, "op": op}


def i_signal(now: int, msg: dict[str, Any]) -> dict[str, Any]:
    return {"t": "signal", "now": now, "msg": msg}


def i_abandon(now: int, ref: str) -> dict[str, Any]:
    return {"t": "abandon", "now": now, "ref": ref}


def i_close(now: int) -> dict[str, Any]:
    return {"t": "close", "now": now}


def joined(at: int = 0, head: int = 2, *, limits: bool = False) -> list[dict[str, Any]]:
    """Inputs of a fresh join welcomed at head ``head``."""
    return [i_start(at), i_opened(at + 10), i_frame(at + 20, welcome(head, limits=limits))]


# ---- running a case --------------------------------------------------------------------------


def run(
    name: str,
    inputs: list[dict[str, Any]],
    *,
    random: list[float] | None = None,
    check: Callable[[list[list[dict[str, Any]]], Session], bool],
    **settings: Any,
) -> dict[str, Any]:
    full = {**SETTINGS, **settings}
    rand = random or []
    session = Session(settings_from_json(full), draws(rand))
    steps = []
    outs = []
    for step in inputs:
        out = [output_json(o) for o in feed(session, step)]
        outs.append(out)
        steps.append({"in": step, "out": out, "after": after_json(session)})
    assert check(outs, session), f"session case {name!r} no longer shows what it claims"
    try:
        session.random()
    except StopIteration:
        pass
    else:
        raise AssertionError(f"session case {name!r} supplies more random draws than it takes")
    return {"name": name, "settings": full, "random": rand, "steps": steps}


def does(outs: list[list[dict[str, Any]]], kind: str) -> list[dict[str, Any]]:
    return [o for out in outs for o in out if o["do"] == kind]


def delivered(outs: list[list[dict[str, Any]]], t: str) -> list[dict[str, Any]]:
    return [o["msg"] for o in does(outs, "deliver") if o["msg"]["t"] == t]


def sent(outs: list[list[dict[str, Any]]], t: str) -> list[dict[str, Any]]:
    return [o["msg"] for o in does(outs, "send") if o["msg"]["t"] == t]
