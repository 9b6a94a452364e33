"""The cases of ``session.json``: each one a sequence of inputs, plus a check of its claim.

``generate.py`` writes the file; the outputs come from running the Python session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cosession_client.session import Session
from protocol.messages import CartAdd, Focus, Follow, Ping, Typing
from protocol.vectors.session_json import (
    SOCKS,
    ack,
    chat,
    delivered,
    does,
    error,
    event,
    i_abandon,
    i_close,
    i_closed,
    i_frame,
    i_opened,
    i_signal,
    i_start,
    i_submit,
    i_tick,
    joined,
    msg_json,
    run,
    sent,
    welcome,
)

CLOSE_CODES: dict[int, bool] = {  # SPEC §10: code -> the client reconnects and resumes
    1000: False,
    1001: True,
    1006: True,
    1007: False,
    1009: False,
    1011: True,
    1012: True,
    4000: False,
    4001: False,
    4002: False,
    4003: False,
    4004: False,
    4005: False,
    4006: False,
    4008: True,
    4009: True,
    4010: False,
    4029: True,
}


def _resumed_at(seq: int, epoch: str = "e1") -> dict[str, Any]:
    return {"do": "open", "resume": {"epoch": epoch, "seq": seq}}


def join_cases() -> list[dict[str, Any]]:
    return [
        run(
            "join/fresh",
            joined(),
            check=lambda outs, s: (
                outs[0] == [{"do": "open", "resume": None}]
                and sent(outs, "hello")[0]
                == {"t": "hello", "token": "v1.tok.sig", "client": "python", "version": "0.1.0", "device": "bot"}
                and delivered(outs, "resynced") == [{"t": "resynced", "recovered": False, "epoch": "e1", "seq": 2}]
                and s.state == "live"
            ),
        ),
        run(
            "join/ops-submitted-before-welcome-are-sent-after-it",
            [i_start(0), i_submit(5, "a-1", chat("hi")), i_opened(10), i_frame(20, welcome(2))],
            check=lambda outs, s: [m["ref"] for m in sent(outs, "op")] == ["a-1"] and outs[3][1]["do"] == "send",
        ),
        run(
            "join/first-frame-not-welcome-is-a-violation",
            [i_start(0), i_opened(10), i_frame(20, event(1)), i_tick(270)],
            random=[0.0],
            check=lambda outs, s: (
                does(outs, "drop")[0]["reason"] == "expected welcome, got event"
                and s.violations == 1
                and does(outs, "open")[-1] == {"do": "open", "resume": None}
            ),
        ),
        run(
            "join/welcome-timeout-drops-and-retries",
            [i_start(0), i_opened(10), i_tick(10_010), i_tick(10_260)],
            random=[0.999],
            check=lambda outs, s: (
                does(outs, "drop") == [{"do": "drop", "reason": "no welcome in time"}] and s.state == "connecting"
            ),
        ),
        run(
            "join/welcome-with-neither-events-nor-snapshot",
            [i_start(0), i_opened(10), i_frame(20, {**welcome(2), "snapshot": None})],
            random=[0.5],
            check=lambda outs, s: does(outs, "drop")[0]["reason"] == "welcome has neither events nor a snapshot",
        ),
    ]


def resume_cases() -> list[dict[str, Any]]:
    live3 = [*joined(), i_frame(100, event(3))]
    return [
        run(
            "resume/recovered",
            [
                *live3,
                i_closed(200, 1006, "connection lost"),
                i_tick(500),
                i_opened(510),
                i_frame(520, welcome(5, events=[4, 5])),
            ],
            random=[0.5],
            check=lambda outs, s: (
                does(outs, "open")[-1] == _resumed_at(3)
                and sent(outs, "hello")[-1]["resume"] == {"epoch": "e1", "seq": 3}
                and [m["seq"] for m in delivered(outs, "event")] == [3, 4, 5]
                and delivered(outs, "resynced")[-1]["recovered"] is True
                and s.reconnects == 1
            ),
        ),
        run(
            "resume/snapshot",
            [*live3, i_closed(200, 1001, "going away"), i_tick(500), i_opened(510), i_frame(520, welcome(7))],
            random=[0.5],
            check=lambda outs, s: (
                [m["seq"] for m in delivered(outs, "event")] == [3]
                and delivered(outs, "resynced")[-1] == {"t": "resynced", "recovered": False, "epoch": "e1", "seq": 7}
                and s.room.seq == 7
            ),
        ),
        run(
            "resume/new-epoch-replaces-state-and-settles-acked-ops",
            [
                *joined(),
                i_submit(50, "a-1", chat("x")),
                i_frame(60, ack("a-1", 9)),
                i_closed(70, 4009, "resync"),
                i_tick(400),
                i_opened(410),
                i_frame(420, welcome(4, epoch="e2")),
            ],
            random=[0.5],
            check=lambda outs, s: (
                does(outs, "done") == [{"do": "done", "ref": "a-1", "seq": 9}] and s.epoch == "e2" and s.room.seq == 4
            ),
        ),
        run(
            "resume/recovered-welcome-of-another-epoch-is-a-violation",
            [*live3, i_closed(200, 1006), i_tick(500), i_opened(510), i_frame(520, welcome(5, epoch="e9", events=[]))],
            random=[0.5, 0.5],
            check=lambda outs, s: does(outs, "drop")[0]["reason"] == "recovered welcome for epoch e9, ours is e1",
        ),
        run(
            "resume/replay-short-of-the-head-is-a-violation",
            [*live3, i_closed(200, 1006), i_tick(500), i_opened(510), i_frame(520, welcome(6, events=[4, 5]))],
            random=[0.5, 0.5],
            check=lambda outs, s: (
                does(outs, "drop")[0]["reason"] == "replay ended at 5, welcome says 6" and s.room.seq == 5
            ),
        ),
    ]


def stream_cases() -> list[dict[str, Any]]:
    return [
        run(
            "stream/duplicate-event-dropped",
            [*joined(), i_frame(100, event(3)), i_frame(110, event(3)), i_frame(120, event(2))],
            check=lambda outs, s: outs[-1] == [] and outs[-2] == [] and s.room.seq == 3,
        ),
        run(
            "stream/gap-reconnects-with-resume",
            [*joined(), i_frame(100, event(3)), i_frame(110, event(5)), i_tick(400)],
            random=[0.5],
            check=lambda outs, s: (
                outs[4][0] == {"do": "drop", "reason": "gap: event 5 after 3"}
                and delivered(outs, "disconnected")[0]["retrying"] is True
                and outs[-1][0] == _resumed_at(3)
            ),
        ),
        run(
            "stream/second-welcome-is-a-violation",
            [*joined(), i_frame(100, welcome(2))],
            random=[0.5],
            check=lambda outs, s: does(outs, "drop")[0]["reason"] == "second welcome on one connection",
        ),
        run(
            "stream/signals-are-delivered",
            [
                *joined(),
                i_frame(100, {"t": "typing", "member": "ana", "on": True}),
                i_frame(110, {"t": "pong", "nonce": 3}),
            ],
            check=lambda outs, s: len(does(outs, "deliver")) == 3,
        ),
    ]


def op_cases() -> list[dict[str, Any]]:
    add = msg_json(CartAdd(product=SOCKS))
    return [
        run(
            "ops/ack-then-event-clears-pending",
            [*joined(), i_submit(50, "a-1", add), i_frame(60, ack("a-1", 3)), i_frame(70, event(3))],
            check=lambda outs, s: (
                outs[4][-1] == {"do": "deliver", "msg": ack("a-1", 3)}
                and outs[5][-1] == {"do": "done", "ref": "a-1", "seq": 3}
                and not s.pending
            ),
        ),
        run(
            "ops/event-then-ack-clears-pending",
            [*joined(), i_submit(50, "a-1", add), i_frame(60, event(3)), i_frame(70, ack("a-1", 3))],
            check=lambda outs, s: outs[5][-1] == {"do": "done", "ref": "a-1", "seq": 3} and not s.pending,
        ),
        run(
            "ops/pending-re-sent-after-reconnect-with-same-ref",
            [
                *joined(),
                i_submit(50, "a-1", chat("one")),
                i_submit(51, "a-2", chat("two")),
                i_frame(60, ack("a-1", 3)),
                i_closed(70, 1001, "going away"),
                i_submit(80, "a-3", chat("three")),
                i_tick(400),
                i_opened(410),
                i_frame(420, welcome(3, events=[3])),
            ],
            random=[0.5],
            check=lambda outs, s: (
                [m["ref"] for m in sent(outs, "op")] == ["a-1", "a-2", "a-2", "a-3"]
                and does(outs, "done") == [{"do": "done", "ref": "a-1", "seq": 3}]
                and list(s.pending) == ["a-2", "a-3"]
            ),
        ),
        run(
            "ops/rejected-op-fails",
            [*joined(), i_submit(50, "a-1", add), i_frame(60, error("room_locked", "the room is locked", "a-1"))],
            check=lambda outs, s: (
                does(outs, "failed")
                == [{"do": "failed", "ref": "a-1", "code": "room_locked", "message": "the room is locked"}]
                and not s.pending
            ),
        ),
        run(
            "ops/rate-limited-op-retried-later-with-same-ref",
            [
                *joined(),
                i_submit(50, "a-1", add),
                i_frame(60, error("rate_limited", "slow down", "a-1")),
                i_tick(434),
                i_tick(435),
                i_frame(440, ack("a-1", 3)),
            ],
            random=[0.5],
            check=lambda outs, s: (
                [m["ref"] for m in sent(outs, "op")] == ["a-1", "a-1"]
                and outs[4][-1] == {"do": "timer", "at": 435}
                and outs[5] == []
                and len(sent([outs[6]], "op")) == 1
                and list(s.pending) == []
            ),
        ),
        run(
            "ops/unavailable-op-retried-with-growing-backoff",
            [
                *joined(),
                i_submit(50, "a-1", add),
                i_frame(60, error("unavailable", "try later", "a-1")),
                i_tick(560),
                i_frame(570, error("unavailable", "try later", "a-1")),
                i_tick(1570),
            ],
            random=[0.999999, 0.999999],
            check=lambda outs, s: [m["ref"] for m in sent(outs, "op")] == ["a-1"] * 3,
        ),
        run(
            "ops/error-about-an-answered-op-is-only-delivered",
            [
                *joined(),
                i_submit(50, "a-1", add),
                i_frame(60, ack("a-1", 3)),
                i_frame(70, event(3)),
                i_frame(80, error("forbidden", "late answer", "a-1")),
                i_closed(90, 1006),
            ],
            random=[0.5],
            check=lambda outs, s: (
                outs[6] == [{"do": "deliver", "msg": error("forbidden", "late answer", "a-1")}] and s.state == "backoff"
            ),
        ),
        run(
            "ops/abandoned-unsent-op-is-forgotten",
            [i_start(0), i_submit(5, "a-1", add), i_abandon(6, "a-1"), i_opened(10), i_frame(20, welcome(2))],
            check=lambda outs, s: sent(outs, "op") == [] and not s.pending,
        ),
        run(
            "ops/abandoning-a-sent-op-keeps-it",
            [*joined(), i_submit(50, "a-1", add), i_abandon(60, "a-1")],
            check=lambda outs, s: list(s.pending) == ["a-1"],
        ),
        run(
            "signals/focus-and-follow-re-sent-after-reconnect-typing-dropped-offline",
            [
                *joined(),
                i_signal(50, msg_json(Focus(product=SOCKS))),
                i_signal(51, msg_json(Follow(member="ana"))),
                i_closed(60, 1006),
                i_signal(70, msg_json(Typing(on=True))),
                i_signal(71, msg_json(Ping(nonce=1))),
                i_tick(400),
                i_opened(410),
                i_frame(420, welcome(2, events=[])),
            ],
            random=[0.5],
            check=lambda outs, s: (
                [m["t"] for m in sent(outs, "focus") + sent(outs, "follow")] == ["focus", "focus", "follow", "follow"]
                and sent(outs, "typing") == []
                and sent(outs, "ping") == []
            ),
        ),
    ]


def _close_check(retry: bool) -> Callable[[list[list[dict[str, Any]]], Session], bool]:
    def check(outs: list[list[dict[str, Any]]], s: Session) -> bool:
        if retry:
            return s.state == "connecting" and s.stopped is None
        return s.state == "closed" and does(outs, "final")[0]["refs"] == ["a-1"]

    return check


def close_cases() -> list[dict[str, Any]]:
    cases = []
    for code, retry in CLOSE_CODES.items():
        cases.append(
            run(
                f"close/{code}-{'resumes' if retry else 'is-final'}",
                [*joined(), i_submit(50, "a-1", chat("x")), i_closed(100, code, f"closed {code}"), i_tick(10_000)],
                random=[0.5] if retry else [],
                check=_close_check(retry),
            )
        )
    cases += [
        run(
            "close/error-frame-then-close-at-join",
            [i_start(0), i_opened(10), i_frame(20, error("unauthorized", "bad token")), i_closed(30, 4001)],
            check=lambda outs, s: (
                does(outs, "final")
                == [{"do": "final", "code": 4001, "reason": "bad token", "error": "unauthorized", "refs": []}]
            ),
        ),
        run(
            "close/final-error-then-no-close-frame-is-final",
            [*joined(), i_frame(100, error("kicked", "you were removed")), i_closed(110, 1006)],
            check=lambda outs, s: does(outs, "final")[0]["error"] == "kicked",
        ),
        run(
            "close/unavailable-at-join-then-1001-retries",
            [i_start(0), i_opened(10), i_frame(20, error("unavailable", "not now")), i_closed(30, 1001), i_tick(1000)],
            random=[0.5],
            check=lambda outs, s: s.state == "connecting" and s.stopped is None,
        ),
        run(
            "close/transport-refusal-is-final",
            [i_start(0), i_closed(5, 1006, "bad url", final=True)],
            check=lambda outs, s: s.stopped is not None and s.stopped.reason == "bad url",
        ),
        run(
            "close/reconnect-disabled-stops-on-a-retryable-code",
            [*joined(), i_closed(100, 1001, "going away")],
            reconnect=False,
            check=lambda outs, s: delivered(outs, "disconnected")[0]["retrying"] is False and s.stopped is not None,
        ),
        run(
            "close/by-the-user-fails-pending-ops",
            [*joined(), i_submit(50, "a-1", chat("x")), i_close(60), i_frame(70, event(3))],
            check=lambda outs, s: (
                outs[4][0] == {"do": "close", "code": 1000, "reason": "bye"}
                and does(outs, "final")[0]["refs"] == ["a-1"]
                and outs[5] == []
            ),
        ),
        run(
            "close/by-the-user-while-backing-off",
            [i_start(0), i_closed(5, 1006, "refused"), i_close(10)],
            random=[0.5],
            check=lambda outs, s: does(outs, "close") == [] and s.stopped is not None,
        ),
    ]
    return cases


def _delays(inputs: list[dict[str, Any]], outs: list[list[dict[str, Any]]]) -> list[int]:
    """The reconnect delay each ``closed`` input scheduled."""
    return [
        o["at"] - step["now"]
        for step, out in zip(inputs, outs, strict=True)
        if step["t"] == "closed"
        for o in out
        if o["do"] == "timer" and o["at"] is not None
    ]


def backoff_cases() -> list[dict[str, Any]]:
    failing = [i_start(0)]
    now = 0
    for _ in range(9):
        failing += [i_closed(now + 5, 1006, "refused"), i_tick(now + 40_000)]
        now += 40_000
    flaps = [
        i_start(0),
        i_closed(5, 1006),
        i_tick(130),
        i_closed(135, 1006),
        i_tick(385),
        i_opened(390),
        i_frame(400, welcome(2)),
        i_closed(10_000, 1001),
    ]  # live 9.6 s: stable
    for at in (10_125, 10_450):
        flaps += [i_tick(at), i_opened(at + 5), i_frame(at + 10, welcome(2, events=[])), i_closed(at + 50, 1001)]
    return [
        run(
            "backoff/grows-doubling-to-the-cap",
            failing,
            random=[0.999999] * 9,
            check=lambda outs, s: _delays(failing, outs) == [249, 499, 999, 1999, 3999, 7999, 15999, 29999, 29999],
        ),
        run(
            "backoff/jitter-halves-at-most",
            [i_start(0), i_closed(5, 1006), i_tick(1000), i_closed(1005, 1006)],
            random=[0.0, 0.0],
            check=lambda outs, s: [t["at"] for t in does(outs, "timer") if t["at"] is not None] == [130, 1255],
        ),
        run(
            "backoff/gives-up-after-max-attempts",
            [i_start(0), i_closed(5, 1006, "refused"), i_tick(1000), i_closed(1005, 1006, "refused")],
            random=[0.5],
            max_attempts=2,
            check=lambda outs, s: s.stopped is not None and s.stopped.reason == "gave up after 2 attempts: refused",
        ),
        run(
            "backoff/resets-after-a-stable-welcome-not-after-a-flap",
            flaps,
            random=[0.0] * 5,
            check=lambda outs, s: _delays(flaps, outs) == [125, 250, 125, 250, 500],
        ),
    ]


def pacing_cases() -> list[dict[str, Any]]:
    subs = [i_submit(100, f"a-{i}", chat(f"m{i}")) for i in range(1, 5)]
    return [
        run(
            "pacing/mirrors-welcome-limits",
            [*joined(limits=True), *subs, i_tick(212), i_tick(300), i_tick(324)],
            check=lambda outs, s: [len(sent([o], "op")) for o in outs[3:]] == [1, 0, 0, 0, 1, 0, 1],
        ),
        run(
            "pacing/signals-wait-their-turn-behind-ops",
            [*joined(limits=True), *subs[:2], i_signal(100, msg_json(Typing(on=True))), i_tick(212), i_tick(324)],
            check=lambda outs, s: (
                len(sent(outs[-2:-1], "op")) == 1
                and sent(outs[:-1], "typing") == []
                and sent(outs[-1:], "typing") == [{"t": "typing", "on": True}]
            ),
        ),
        run(
            "pacing/off-without-limits",
            [*joined(), *subs],
            check=lambda outs, s: len(sent(outs, "op")) == 4,
        ),
    ]


def session_cases() -> list[dict[str, Any]]:
    return [
        *join_cases(),
        *resume_cases(),
        *stream_cases(),
        *op_cases(),
        *close_cases(),
        *backoff_cases(),
        *pacing_cases(),
    ]
