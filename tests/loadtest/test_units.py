"""Unit tests of the load tool's pieces: SLOs, histograms, stamps, scenarios, the stream
checker (fed with real encoded frames) and the HTML report."""

from __future__ import annotations

import html.parser
import multiprocessing
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import pytest

from loadtest import Scenario, Shopper, task
from loadtest.builtin import BUILTINS
from loadtest.fanout_check import fanout_entry, summary_lines
from loadtest.histogram import Histogram
from loadtest.ipc import MemberState
from loadtest.meter import Meter
from loadtest.metered import Metering, state_digest
from loadtest.report_html import render
from loadtest.resources import Sample, describe, parse_commandstats, redis_costs, steady_costs
from loadtest.runner import Controller, RunConfig, node_for
from loadtest.scenario import ScenarioError, load_scenario
from loadtest.slo import SloError, evaluate, parse
from loadtest.stamps import read_stamp, stamped_text, stamped_url
from loadtest.units import parse_duration, resolve_at
from protocol.codec import Codec
from protocol.messages import CartAdd, Chat, Event, Hello, MemberJoin, Product, Resume, RoomCreate, RoomState, Welcome
from protocol.reducer import fold

# ---- SLOs ------------------------------------------------------------------------------


def test_slo_parse_units_and_ratios() -> None:
    assert parse("op_ack.p99 < 50ms").threshold == 50.0
    assert parse("op_ack.p99<0.001ms").threshold == pytest.approx(0.001)
    assert parse("resume.p50 <= 2s").threshold == 2000.0
    assert parse("welcome.max < 500us").threshold == pytest.approx(0.5)
    slo = parse("errors < 0.1%")
    assert slo.percent and slo.threshold == pytest.approx(0.001)
    assert parse("gaps == 0").metric == "gaps"
    assert parse("delivered_per_s >= 5000").threshold == 5000


@pytest.mark.parametrize(
    "bad", ["op_ack < 5ms", "op_ack.p42 < 5ms", "gaps.p99 == 0", "nonsense < 1", "gaps == 0%", "op_ack.p99 < 5%", "x"]
)
def test_slo_parse_refuses(bad: str) -> None:
    with pytest.raises(SloError):
        parse(bad)


def _result(**totals: Any) -> dict[str, Any]:
    base = {
        "errors": 0,
        "attempts": 1000,
        "rejections": 0,
        "ops_sent": 100,
        "members_failed": 0,
        "members_started": 10,
        "resumes_snapshot": 0,
        "resumes": 0,
        "ops_acked": 100,
        "delivered": 1000,
        "peak_clients": 10,
        "ops_per_s": 10.0,
        "delivered_per_s": 100.0,
    }
    base.update(totals)
    return {
        "totals": base,
        "latency": {"op_ack": {"count": 5, "p50": 1.0, "p99": 4.0}, "op_delivery": {"count": 0}},
        "correctness": {"counts": {"gap": 0, "duplicate": 2, "state_mismatch": 0, "count_mismatch": 0}},
    }


def test_slo_evaluate() -> None:
    result = _result(errors=2)
    slos = [parse(s) for s in ("op_ack.p99 < 5ms", "op_ack.p50 > 2ms", "errors < 0.1%", "errors < 0.5%")]
    slos += [parse("duplicates == 0"), parse("op_delivery.p99 < 1s"), parse("delivered_per_s >= 100")]
    passed = [item["passed"] for item in evaluate(slos, result)]
    # errors: 2 of 1000 = 0.2%; nothing delivered to measure op_delivery: a failure, not a pass
    assert passed == [True, False, False, True, False, False, True]


# ---- histograms, stamps, units ------------------------------------------------------


def test_histograms_merge_exactly_across_encoding() -> None:
    a, b, whole = Histogram(), Histogram(), Histogram()
    for i in range(1, 2001):
        ns = i * 1_000_000  # 1 ms … 2 s
        (a if i % 2 else b).record_ns(ns)
        whole.record_ns(ns)
    merged = Histogram.decode(a.encode())
    merged.add(Histogram.decode(b.encode()))
    assert merged.count == 2000
    assert merged.summary() == whole.summary()
    assert merged.percentile_ms(50) == pytest.approx(1000, rel=0.002)
    assert merged.percentile_ms(99) == pytest.approx(1980, rel=0.002)
    empty = Histogram()
    assert empty.summary() == {"count": 0}
    assert Histogram.decode(empty.encode()).count == 0


def test_stamps_round_trip() -> None:
    text = stamped_text(120, stamp=123456789, node=2)
    assert len(text) == 120 and text.isascii()
    assert read_stamp(Chat(text=text)) == (123456789, 2)
    assert read_stamp(Chat(text="hello")) is None
    product = Product(id="p", name="P", price=1, currency="EUR", url=stamped_url("https://s/p", stamp=42))
    assert read_stamp(CartAdd(product=product)) == (42, 0)
    assert read_stamp(Chat(text="lt1 12x@1 hello")) is None
    assert read_stamp(Chat(text="lt1 12@ hello")) is None
    assert len(stamped_text(3)) > 3  # never shorter than the stamp itself


def _clock(queue: Any) -> None:
    queue.put(time.perf_counter_ns())


def test_perf_counter_is_one_clock_for_all_processes() -> None:
    """op→delivery subtracts a sender's perf_counter_ns in another process: on Linux it is
    CLOCK_MONOTONIC, system-wide, so a child's reading falls between two of ours."""
    assert "CLOCK_MONOTONIC" in time.get_clock_info("perf_counter").implementation
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    before = time.perf_counter_ns()
    proc = ctx.Process(target=_clock, args=(queue,))
    proc.start()
    theirs = queue.get(timeout=60)
    proc.join(timeout=60)
    after = time.perf_counter_ns()
    assert before < theirs < after


def test_units() -> None:
    assert parse_duration("500ms") == 0.5
    assert parse_duration("2m") == 120
    assert parse_duration(3) == 3.0
    assert resolve_at("50%", 30) == 15
    assert resolve_at("10s", 30) == 10
    with pytest.raises(ValueError):
        parse_duration("soon")


# ---- scenarios -------------------------------------------------------------------------


class Talker(Shopper):
    weight = 3

    @task(2)
    async def talk(self) -> None: ...

    @task
    async def look(self) -> None: ...


class Boss(Shopper):
    fixed = 1
    weight = 0

    @task(1)
    async def rename(self) -> None: ...


class Lurker(Shopper):
    weight = 1


def test_task_weights_and_assignment() -> None:
    assert sorted((fn.__name__, w) for fn, w in Talker._tasks) == [("look", 1.0), ("talk", 2.0)]
    scenario = Scenario(name="t", shoppers=[Talker, Boss, Lurker])
    classes = scenario.assign(9)
    assert classes[0] is Boss
    assert classes.count(Boss) == 1 and classes.count(Talker) == 6 and classes.count(Lurker) == 2
    assert scenario.assign(9) == classes  # deterministic
    with pytest.raises(ScenarioError):
        task(lambda self: None)  # not async


def test_builtins_load() -> None:
    for name in BUILTINS:
        scenario = load_scenario(name)
        assert scenario.name == name and scenario.shoppers
    fanout = load_scenario("fanout", {"senders": "3"})
    classes = fanout.assign(10)
    assert [c.__name__ for c in classes].count("Sender") == 3
    assert fanout.fanout_check == "chat"
    with pytest.raises(ScenarioError, match="unknown scenario"):
        load_scenario("nope")


def test_toml_scenario(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        """
name = "toml-test"
rooms = 3
members = 4
duration = "5s"
ramp = "500ms"
slos = ["op_ack.p99 < 1s"]
storms = ["50%"]

[[shoppers]]
name = "Browser"
weight = 3
think = [0.1, 0.2]
tasks = { focus = 5, "cart.add" = 1 }

[[shoppers]]
name = "Talker"
[[shoppers.tasks]]
action = "chat"
weight = 2
size = 40
pause = 0.5
""",
        encoding="utf-8",
    )
    scenario = load_scenario(str(path))
    assert (scenario.name, scenario.rooms, scenario.members, scenario.duration, scenario.ramp) == (
        "toml-test",
        3,
        4,
        5.0,
        0.5,
    )
    browser, talker = scenario.shoppers
    assert browser.think_time == (0.1, 0.2) and talker.think_time is None
    assert sorted(w for _, w in browser._tasks) == [1.0, 5.0]
    assert scenario.slos == ["op_ack.p99 < 1s"] and scenario.storms == ["50%"]
    bad = tmp_path / "bad.toml"
    bad.write_text("[[shoppers]]\ntasks = { fly = 1 }\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="action must be one of"):
        load_scenario(str(bad))
    bad.write_text("speed = 3\n[[shoppers]]\ntasks = { chat = 1 }\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="unknown key"):
        load_scenario(str(bad))


def test_python_scenario_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.py"
    path.write_text(
        "from loadtest import Scenario, Shopper, task\n"
        "class A(Shopper):\n"
        "    @task(2)\n"
        "    async def go(self) -> None: ...\n"
        "scenario = Scenario(name='mine', shoppers=[A], rooms=2, slos=['gaps == 0'])\n",
        encoding="utf-8",
    )
    scenario = load_scenario(str(path))
    assert scenario.name == "mine" and scenario.rooms == 2 and scenario.shoppers[0].__name__ == "A"
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario(str(tmp_path / "missing.py"))


# ---- which node each member talks to ---------------------------------------------------


def test_node_for_spreads_each_room_over_every_node() -> None:
    assert [node_for(0, k, 2) for k in range(4)] == [0, 1, 0, 1]
    assert [node_for(1, k, 2) for k in range(4)] == [1, 0, 1, 0]
    assert [node_for(2, k, 3) for k in range(4)] == [2, 0, 1, 2]
    for nodes in (1, 2, 3, 5):
        for rooms in range(1, 12):
            for r in range(rooms):
                assert {node_for(r, k, nodes) for k in range(nodes)} == set(range(nodes))


def _plan(name: str, nodes: int, workers: int) -> tuple[list[str], list[Any]]:
    scenario = BUILTINS[name]({})
    cfg = RunConfig(
        scenario_ref=name, scenario=scenario, slos=[], rooms=scenario.rooms, members=scenario.members, workers=workers
    )
    controller = Controller(cfg, display=None)  # type: ignore[arg-type]
    controller.workers = [None] * workers  # type: ignore[list-item]  # _plan only counts them
    controller.rooms = [
        SimpleNamespace(room=f"room{i}", token=f"tok{i}", invite=SimpleNamespace(code=f"inv{i}"))
        for i in range(cfg.rooms)
    ]
    urls = [f"http://127.0.0.1:{8000 + n}" for n in range(nodes)]
    return urls, [m for per_worker in controller._plan(urls) for m in per_worker]


@pytest.mark.parametrize("name", sorted(BUILTINS))
@pytest.mark.parametrize("nodes", [2, 3])
def test_plan_puts_members_of_every_room_on_every_node(name: str, nodes: int) -> None:
    """With each built-in scenario's default room and member counts (4 rooms of 6 for
    ``shopping``: an even room count put every room on one node of two before)."""
    urls, members = _plan(name, nodes, workers=2)
    scenario = BUILTINS[name]({})
    assert len(members) == scenario.rooms * scenario.members
    assert sorted(m.arrival for m in members) == list(range(len(members)))
    by_room: dict[int, set[int]] = {}
    for m in members:
        assert m.http_url == urls[m.node] and m.ws_url == urls[m.node].replace("http://", "ws://") + "/v1/ws"
        by_room.setdefault(m.room, set()).add(m.node)
    assert len(by_room) == scenario.rooms
    # (a room of fewer members than nodes, like help-queue's one, spans as many nodes as it can)
    assert all(len(seen) == min(nodes, scenario.members) for seen in by_room.values()), by_room
    assert set().union(*by_room.values()) == set(range(nodes))
    assert all(m.node == node_for(m.room, m.index, nodes) for m in members)
    # every worker still has members on every node
    for w in range(2):
        assert {m.node for m in members if (m.arrival // nodes) % 2 == w} == set(range(nodes))


# ---- the stream checker, fed with real frames ---------------------------------------


class _Wire:
    """Real frames through the codec into a ``Metering``, as a client's observer sees them."""

    def __init__(self, meter: Meter, fmt: Literal["msgpack", "json"] = "msgpack") -> None:
        self.codec = Codec(fmt)
        self.metering = Metering(meter, room_index=0)

    def recv(self, msg: Any) -> Any:
        decoded = self.codec.decode_server(self.codec.encode(msg))
        self.metering.frame_in(decoded)
        return decoded

    def hello(self, resume: Resume | None) -> None:
        self.metering.frame_out(self.codec.decode_client(self.codec.encode(Hello(token="t", resume=resume))))


def _event(seq: int, by: str = "m1", text: str | None = None) -> Event:
    if seq == 1:
        return Event(seq=1, ts=1, by="", op=RoomCreate(name="r", owner="m1", owner_name="o"))
    if text is None:
        return Event(seq=seq, ts=seq, by="", op=MemberJoin(member=f"m{seq}", name="x", role="member"))
    return Event(seq=seq, ts=seq, by=by, op=Chat(text=text))


def test_stream_checker_flags_gaps_and_duplicates() -> None:
    meter = Meter(0)
    wire = _Wire(meter)
    history = [_event(1), _event(2)]
    welcome = Welcome(room="r", member="m2", role="member", epoch="e1", seq=2, recovered=False, snapshot=fold(history))
    wire.hello(None)
    assert isinstance(wire.recv(welcome), Welcome)
    for seq in (3, 4):
        wire.recv(_event(seq, text=stamped_text(30)))
    assert meter.c["delivered"] == 2 and meter.hist["op_delivery"].count == 2
    wire.recv(_event(4, text="again"))  # a duplicate
    wire.recv(_event(6, text="skipped 5"))  # a gap
    assert meter.finding_counts["duplicate"] == 1
    assert meter.finding_counts["gap"] == 1
    kinds = [(f["kind"], f["expected"], f["got"]) for f in meter.findings]
    assert kinds == [("duplicate", 5, 4), ("gap", 5, 6)]
    assert wire.metering.first_seq == 2 and wire.metering.delivered == 2


def test_stream_checker_replay_and_snapshot_accounting() -> None:
    meter = Meter(0)
    wire = _Wire(meter, "json")
    events = [_event(1), _event(2), _event(3, text="a"), _event(4, text="b"), _event(5, text="c")]
    first = Welcome(room="r", member="m2", role="member", epoch="e", seq=2, recovered=False, snapshot=fold(events[:2]))
    wire.hello(None)
    wire.recv(first)
    # reconnect, recovered: replays 3..4 but claims head 5: one event missing from the replay
    wire.hello(Resume(epoch="e", seq=2))
    replay = Welcome(room="r", member="m2", role="member", epoch="e", seq=5, recovered=True, events=events[2:4])
    wire.recv(replay)
    assert meter.finding_counts["replay_mismatch"] == 1
    assert meter.c["resumes_recovered"] == 1 and meter.c["events_replayed"] == 2
    # a snapshot jump from 4 to 5 is accounted as covered, not delivered
    wire.hello(Resume(epoch="e", seq=4))
    snap = Welcome(room="r", member="m2", role="member", epoch="e", seq=5, recovered=False, snapshot=fold(events))
    wire.recv(snap)
    assert meter.c["snapshot_skipped"] == 1 and meter.c["resumes_snapshot"] == 1


def test_state_digest_ignores_map_order() -> None:
    a = RoomState(seq=3, members={})
    b = RoomState(seq=3, members={})
    a.members = dict(sorted({"x": _member("X"), "y": _member("Y")}.items()))
    b.members = dict(sorted({"x": _member("X"), "y": _member("Y")}.items(), reverse=True))
    assert state_digest(a) == state_digest(b)
    b.members["y"].name = "Z"
    assert state_digest(a) != state_digest(b)


def _member(name: str) -> Any:
    from protocol.messages import MemberInfo

    return MemberInfo(name=name, role="member")


# ---- the HTML report ---------------------------------------------------------------


class _Parser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.external.append(value)


def test_html_report_is_self_contained_with_charts() -> None:
    rows = [
        {"t": t, "clients": 5, "ops_sent": 10, "ops_acked": 10, "delivered": 50, "errors": 0, "rejections": 0,
         "resumes": 0, "op_ack_p50": 1.0 + t, "op_ack_p99": 5.0, "cpu_controller": 3.0, "cpu_workers": [20.0, 30.0]}
        for t in range(1, 6)
    ]  # fmt: skip
    rows[2]["op_ack_p50"] = None  # a second without acks breaks the line
    result = {
        "started_at": "2026-01-01T00:00:00+00:00",
        "command": ["cosession-loadtest", "run", "fanout", "<x>"],
        "scenario": {"name": "fanout", "description": "d", "rooms": 1, "members": 5, "shoppers": ["S"], "params": {}},
        "config": {"duration": 5, "ramp": 1, "op_rate": 10, "payload_bytes": 80, "format": "msgpack", "workers": 2},
        "target": {"urls": ["http://127.0.0.1:1"], "kind": "external"},
        "machine": {"platform": "p", "cpus": 2, "memory_gib": 1, "python": "3",
                    "loadavg_start": [1], "loadavg_end": [1]},
        "totals": {k: 0 for k in ("members_joined", "members_started", "peak_clients", "ops_sent", "ops_acked",
                                  "ops_rejected", "ops_per_s", "delivered", "delivered_per_s", "errors", "attempts",
                                  "rejections", "resumes", "resumes_recovered", "resumes_snapshot")}
        | {"error_ratio": 0.0},
        "latency": {"op_ack": {"count": 5, "p50": 1, "p90": 2, "p95": 3, "p99": 4, "p999": 5, "max": 6}},
        "errors": {"internal": 1},
        "rejections": {},
        "correctness": {"ok": False, "summary": ["1 gap"], "counts": {"gap": 1},
                        "findings": [{"kind": "gap", "expected": 3, "got": 4}], "rooms": []},
        "slos": [{"slo": "op_ack.p99 < 1ms", "shown": "4.000ms", "passed": False}],
        "warnings": ["worker 0 CPU above 90%"],
        "timeseries": rows,
        "exit_code": 1,
        "outcome": "correctness check failed",
    }  # fmt: skip
    page = render(result)
    parser = _Parser()
    parser.feed(page)
    parser.close()
    assert parser.tags["svg"] == 7 and parser.tags.get("polyline", 0) >= 6
    assert parser.external == [] and "<script" not in page
    assert "&lt;x&gt;" in page  # the command line is escaped
    assert "gap" in page and "FAIL" in page


def test_commandstats_parse_and_costs_per_op() -> None:
    text = (
        "# Commandstats\r\n"
        "cmdstat_get:calls=30,usec=60,usec_per_call=2.00,rejected_calls=0,failed_calls=0\r\n"
        "cmdstat_evalsha:calls=10,usec=900,usec_per_call=90.00,rejected_calls=0,failed_calls=0\r\n"
        "cmdstat_ping:calls=5,usec=1,usec_per_call=0.20\r\n"
        "not_a_stat:calls=1\r\n"
    )
    before = parse_commandstats(text)
    assert before == {"get": (30, 60.0), "evalsha": (10, 900.0), "ping": (5, 1.0)}
    after = {"get": (60, 120.0), "evalsha": (20, 1800.0), "ping": (5, 1.0), "publish": (10, 50.0), "info": (9, 9.0)}
    costs = redis_costs(before, after, ops=10)
    assert costs["commands"] == 50 and costs["commands_per_op"] == 5.0
    # most calls first; ping did not run; the measurement's own INFO is left out
    assert list(costs["by_command"]) == ["get", "evalsha", "publish"]
    assert costs["by_command"]["get"]["per_op"] == 3.0 and costs["usec_per_op"] == 101.0
    assert redis_costs(before, before, ops=0)["commands_per_op"] is None


def test_steady_costs_cpu_rss_and_per_message() -> None:
    before = Sample({"node0": 1.0, "generator": 1.0}, {"node0": 100 * 2**20, "generator": 1}, 10.0, 0.0)
    start = Sample({"node0": 2.0, "generator": 1.5}, {"node0": 110 * 2**20}, 20.0, 5.0)
    end = Sample({"node0": 4.0, "generator": 2.5}, {"node0": 120 * 2**20}, 26.0, 9.0)
    busiest = Sample({}, {"node0": 120 * 2**20, "generator": 9}, 0.0, 8.0)
    costs = steady_costs(before, start, end, busiest, clients=1024, delivered=8000, ops=100)
    assert costs["steady_seconds"] == 4.0
    assert costs["cpu_pct"] == {"generator": 25.0, "nodes": 50.0}
    assert costs["cpu_pct_other"] == 75.0  # 6 busy CPU-seconds in 4 s = 150%, of which ours 75%
    assert costs["server_cpu_s"] == 2.0 and costs["delivered_per_server_cpu_s"] == 4000.0
    assert costs["server_cpu_us_per_op"] == 20000.0
    assert costs["rss_per_client_kib"] == 20.0  # 20 MiB over 1,024 clients
    assert describe(costs)[2].endswith("= 20.0 KiB per client")
    # without server processes (a --url run): CPU only
    url_run = steady_costs(before, start, end, Sample({}, {}, 0.0, 8.0), clients=3, delivered=1, ops=1)
    assert "rss_per_client_kib" not in url_run and len(describe(url_run)) == 1


def _state(first: int, delivered: int, own: list[int] | None = None) -> MemberState:
    return MemberState(
        room=0, member="m", live=True, seq=20, epoch="e", digest="d", first_seq=first, delivered=0, skipped=0,
        check_acked=len(own or []), check_delivered=delivered, check_seqs=own or [],
    )  # fmt: skip


def test_fanout_count_expects_each_member_only_the_ops_after_its_first_welcome() -> None:
    sender = _state(1, 4, own=[5, 7, 8, 9])  # its own chats come back to it too
    early = _state(2, 4)
    late = _state(6, 3)  # joined after chat 5: chat 5 was in its welcome's state
    entry = fanout_entry("r", "chat", [sender, early, late])
    assert entry["sent_acked"] == 4 and entry["recipients"] == 3
    assert entry["expected"] == 4 + 4 + 3 and entry["expected_to_others"] == 4 + 3
    assert entry["joined_late"] == 1 and entry["ok"]
    lines = summary_lines([entry])
    assert "delivered 11 of 11 expected" in lines[0] and "equal in every room" in lines[0]
    assert "1 member(s) joined after" in lines[1]
    # one event lost at the late member: caught
    short = fanout_entry("r", "chat", [sender, early, _state(6, 2)])
    assert not short["ok"] and "MISMATCH in 1 room(s)" in summary_lines([short])[0]
    # a duplicate is caught too
    assert not fanout_entry("r", "chat", [sender, _state(2, 5)])["ok"]
