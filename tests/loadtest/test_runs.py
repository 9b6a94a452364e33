"""``cosession-loadtest`` end to end, as a subprocess: against ``--spawn 1`` and ``--spawn 2``
(real servers, a real redis-server), against a deliberately broken server (the
correctness checks must catch it), and its exit codes."""

from __future__ import annotations

import asyncio
import html.parser
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from loadtest.cli import main
from loadtest.local_postgres import postgres_bin_dir
from loadtest.spawn import free_port, redis_binary
from tests.loadtest.broken_server import running
from tests.support.backends import missing_backend

RUN_TIMEOUT = 240.0


@pytest.fixture
def needs_redis() -> None:
    """``--spawn N>1`` starts a redis-server: skip without one, fail under CI."""
    if redis_binary() is None:
        missing_backend("redis-server (or $REDIS_SERVER_BIN)")


@pytest.fixture
def needs_postgres() -> None:
    if postgres_bin_dir() is None:
        missing_backend("PostgreSQL (initdb, postgres; or set $PG_BIN_DIR)")


async def cli(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "loadtest",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(RUN_TIMEOUT):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


class Page(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self.refs += [v for k, v in attrs if k in ("src", "href") and v]


def assert_clean(result: dict[str, Any]) -> None:
    corr = result["correctness"]
    assert corr["ok"], corr
    assert all(n == 0 for n in corr["counts"].values()), corr["counts"]
    acc = corr["accounting"]
    assert acc["delivered"] + acc["snapshot_skipped"] == acc["expected"] > 0
    for room in corr["rooms"]:
        assert room["members_agree"] and room["members_compared"] == result["scenario"]["members"]


async def test_fanout_against_spawned_node(tmp_path: Path) -> None:
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    rc, out, err = await cli(
        "run", "fanout", "--spawn", "1", "--members", "5", "--duration", "3", "--ramp", "0.5",
        "--op-rate", "10", "--workers", "2", "--json", str(out_json), "--html", str(out_html),
        "--slo", "op_ack.p99 < 60s", "--slo", "gaps == 0", "--slo", "errors < 1%",
    )  # fmt: skip
    assert rc == 0, out + err
    result = load(out_json)
    assert result["exit_code"] == 0 and all(s["passed"] for s in result["slos"])
    assert result["target"]["kind"].startswith("1 embedded node")
    assert_clean(result)
    totals = result["totals"]
    assert totals["members_joined"] == 5 and totals["errors"] == 0
    # the server sends every event to every member, the sender included
    (fan,) = result["correctness"]["fanout"]
    assert fan["sent_acked"] == totals["ops_acked"] > 0
    assert fan["recipients"] == 5
    assert fan["delivered"] == fan["sent_acked"] * 5 == fan["expected"]
    assert fan["expected_to_others"] == fan["sent_acked"] * 4
    assert result["ops_by_kind"]["chat"]["delivered"] == fan["delivered"]
    assert result["latency"]["op_ack"]["count"] == totals["ops_acked"]
    assert result["latency"]["op_delivery"]["count"] == fan["sent_acked"] * 4  # timed at the other members
    assert result["timeseries"] and result["timeseries"][0]["t"] == 1
    assert result["latency_hdr"]["op_ack"].startswith("HISTF")
    page = Page()
    page.feed(out_html.read_text(encoding="utf-8"))
    assert page.tags["svg"] >= 6 and page.tags["polyline"] >= 3 and page.refs == []
    assert "fan-out counts (chat), 1 room(s): delivered" in out and "equal in every room" in out
    # what the spawned server cost: CPU of each role over the steady phase, RSS per client
    res = result["resources"]
    assert set(res["cpu_pct"]) == {"generator", "nodes"} and res["cpu_pct"]["nodes"] > 0
    assert res["server_cpu_s"] > 0 and res["delivered_per_server_cpu_s"] > 0
    assert res["clients_at_busiest"] == 5 and res["nodes_rss_mib_before"] > 10
    assert "redis" not in res and "op_delivery_cross_node" not in result["latency_hdr"]
    assert "KiB per client" in out


async def test_idle_members_give_the_server_memory_per_client(tmp_path: Path) -> None:
    """``idle``: members join and sit; RSS of the spawned node before and with them online."""
    out_json = tmp_path / "r.json"
    rc, out, err = await cli(
        "run", "idle", "--spawn", "1", "--rooms", "2", "--members", "100", "--duration", "4", "--ramp", "1",
        "--workers", "2", "--json", str(out_json),
    )  # fmt: skip
    assert rc == 0, out + err
    result = load(out_json)
    assert result["totals"]["ops_sent"] == 0 and result["totals"]["peak_clients"] == 200
    res = result["resources"]
    assert res["clients_at_busiest"] == 200
    assert res["nodes_rss_mib_busiest"] > res["nodes_rss_mib_before"]
    # every connection costs the server something, and far less than a megabyte
    assert 1 < res["rss_per_client_kib"] < 1024
    assert_clean(result)


@pytest.mark.usefixtures("needs_redis", "needs_postgres")
async def test_fanout_on_two_nodes_with_postgres_times_each_link_and_counts_redis_commands(tmp_path: Path) -> None:
    """``--spawn 2 --spawn-db postgres``: a private PostgreSQL and redis-server behind two
    nodes; deliveries are timed per link (same node / cross node) and Redis's commands
    are counted per acked op."""
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    rc, out, err = await cli(
        "run", "fanout", "--spawn", "2", "--spawn-db", "postgres", "--members", "6", "--duration", "5",
        "--ramp", "0.5", "--op-rate", "20", "--workers", "2", "--json", str(out_json), "--html", str(out_html),
        "--slo", "op_delivery_cross_node.p99 < 60s",
    )  # fmt: skip
    assert rc == 0, out + err
    result = load(out_json)
    assert result["target"]["kind"] == "2 nodes + redis-server + PostgreSQL"
    assert result["config"]["spawn_db"] == "postgres"
    assert_clean(result)
    lat, acked = result["latency"], result["totals"]["ops_acked"]
    # the sender (member 0) is on node 0; of the 5 others, 2 share its node and 3 do not
    assert lat["op_delivery"]["count"] == acked * 5
    assert lat["op_delivery_same_node"]["count"] == acked * 2
    assert lat["op_delivery_cross_node"]["count"] == acked * 3
    res = result["resources"]
    assert {"nodes", "redis", "postgres", "generator"} <= set(res["cpu_pct"])
    assert res["cpu_pct"]["postgres"] > 0  # the nodes really write to it
    redis = res["redis"]
    assert redis["ops"] > 0 and "evalsha" in redis["by_command"] and "publish" in redis["by_command"]
    assert 2 < redis["commands_per_op"] < 50
    assert "commands per acked op" in out and "commands per acked op" in out_html.read_text(encoding="utf-8")


@pytest.mark.usefixtures("needs_redis")
async def test_two_nodes_with_default_room_counts_deliver_across_nodes(tmp_path: Path) -> None:
    """``shopping`` with its default 4 rooms of 6 on ``--spawn 2``: every room has members
    on both nodes, so ops are delivered across nodes (before, with an even room count,
    every room sat on one node and ``op_delivery_cross_node`` was never measured)."""
    out_json = tmp_path / "r.json"
    rc, out, err = await cli(
        "run", "shopping", "--spawn", "2", "--duration", "4", "--ramp", "0.5", "--op-rate", "2",
        "--workers", "2", "--json", str(out_json),
    )  # fmt: skip
    assert rc == 0, out + err
    result = load(out_json)
    assert "redis-server" in result["target"]["kind"] and len(result["target"]["urls"]) == 2
    assert (result["scenario"]["rooms"], result["scenario"]["members"]) == (4, 6)  # the defaults
    assert_clean(result)
    lat = result["latency"]
    cross = lat.get("op_delivery_cross_node", {}).get("count", 0)
    same = lat.get("op_delivery_same_node", {}).get("count", 0)
    assert cross > 0 and same > 0, lat
    assert cross + same == lat["op_delivery"]["count"]


async def test_shopping_against_spawned_node_with_a_failing_slo(tmp_path: Path) -> None:
    out_json = tmp_path / "r.json"
    rc, out, err = await cli(
        "run", "shopping", "--spawn", "1", "--rooms", "2", "--members", "3", "--duration", "3",
        "--ramp", "0.5", "--op-rate", "3", "--workers", "1", "--json", str(out_json),
        "--slo", "op_ack.p99 < 0.001ms",
    )  # fmt: skip
    assert rc == 1, out + err
    result = load(out_json)
    assert result["outcome"] == "1 SLO(s) failed"
    (slo,) = result["slos"]
    assert not slo["passed"] and slo["value"] > 0.001
    assert_clean(result)  # the run itself was correct
    assert result["totals"]["members_joined"] == 6
    assert result["totals"]["ops_acked"] > 0 and result["totals"]["delivered"] > 0
    assert len(result["correctness"]["rooms"]) == 2


TOML_SCENARIO = """
name = "chatty"
rooms = 2
members = 3
duration = "2.5s"
slos = ["op_ack.count > 0"]

[[shoppers]]
name = "Chatty"
think = [0.05, 0.1]
tasks = { chat = 3, "cart.add" = 2, vote = 1, focus = 1, react = 1 }
"""

PY_SCENARIO = '''
"""A shopper that keeps its worker's CPU busy, and one whose task has a bug."""
import time

from loadtest import Scenario, Shopper, task


class Hog(Shopper):
    fixed = 1
    think_time = (0.0, 0.0)

    @task
    async def burn(self) -> None:
        started = time.perf_counter()
        while time.perf_counter() - started < 0.05:
            pass
        await self.client.chat(self.chat_text(20))


class Buggy(Shopper):
    think_time = (0.2, 0.3)

    @task
    async def oops(self) -> None:
        raise RuntimeError("scenario bug")


scenario = Scenario(name="hog", shoppers=[Hog, Buggy], rooms=1, members=3, duration=4)
'''


def scenario_args(kind: str, tmp_path: Path) -> list[str]:
    if kind == "toml":
        path = tmp_path / "chatty.toml"
        path.write_text(TOML_SCENARIO, encoding="utf-8")
        return [str(path)]
    if kind == "py":
        path = tmp_path / "hog.py"
        path.write_text(PY_SCENARIO, encoding="utf-8")
        return [str(path), "--cpu-warn", "10"]  # (a saturated core cannot be promised on a shared machine)
    return ["fanout", "--members", "4", "--duration", "2.5", "--ramp", "0.2", "--op-rate", "10"]


@pytest.mark.parametrize(
    ("fault", "finding", "kind"),
    [("drop", "gap", "fanout"), ("dup", "duplicate", "py"), ("diverge", "state_mismatch", "toml")],
)
async def test_broken_server_is_caught(tmp_path: Path, fault: str, finding: str, kind: str) -> None:
    """Each run also drives one way of writing a scenario: built-in, Python file, TOML."""
    out_json = tmp_path / "r.json"
    async with running(fault, trigger=3) as (url, server):
        args = scenario_args(kind, tmp_path)
        rc, out, err = await cli("run", *args, "--url", url, "--workers", "1", "--json", str(out_json))
        if fault != "diverge":
            assert server.faults_done == 1
    assert rc == 1, out + err
    result = load(out_json)
    assert result["outcome"] == "correctness check failed"
    corr = result["correctness"]
    assert not corr["ok"] and corr["counts"][finding] >= 1
    assert finding in {f["kind"] for f in corr["findings"]}
    others = {k: v for k, v in corr["counts"].items() if k not in (finding, "count_mismatch")}
    assert not any(others.values()), corr["counts"]
    if kind == "toml":
        assert result["scenario"]["name"] == "chatty" and result["ops_by_kind"]["chat"]["acked"] > 0
        assert corr["counts"]["state_mismatch"] == 6  # every member differs from the (lying) snapshot
        assert all(room["members_agree"] for room in corr["rooms"])
        assert result["slos"][0]["passed"]
    if kind == "py":  # a busy worker is reported; scenario exceptions are counted, not fatal
        assert any("worker 0 CPU above 10%" in w for w in result["warnings"]), result["warnings"]
        assert "WARNING: worker 0 CPU" in out
        assert result["errors"]["scenario_RuntimeError"] >= 3
        assert "scenario bug" in result["scenario_errors"][0]


@pytest.mark.usefixtures("needs_redis")
async def test_storm_against_a_spawned_cluster_of_two_nodes(tmp_path: Path) -> None:
    """Two nodes and a redis-server; every connection dropped at once and resumed (JSON frames)."""
    out_json = tmp_path / "r.json"
    rc, out, err = await cli(
        "run", "storm", "--spawn", "2", "--rooms", "2", "--members", "3", "--duration", "5", "-p", "at=3s",
        "--ramp", "0.3", "--op-rate", "2", "--format", "json", "--workers", "2", "--json", str(out_json),
        "--slo", "resume.p99 < 30s",
    )  # fmt: skip
    assert rc == 0, out + err
    result = load(out_json)
    assert len(result["target"]["urls"]) == 2 and "redis-server" in result["target"]["kind"]
    assert result["config"]["format"] == "json" and result["config"]["storms"] == [3.0]
    assert result["totals"]["members_joined"] == 6 and result["totals"]["ops_acked"] > 0
    resumes = result["resumes"]
    assert resumes["drops"] == 6 and resumes["total"] == 6
    assert resumes["recovered"] + resumes["snapshot"] == 6 and resumes["latency"]["count"] == 6
    assert_clean(result)


async def test_unreachable_target_is_a_failed_run(tmp_path: Path) -> None:
    out_json = tmp_path / "r.json"
    url = f"http://127.0.0.1:{free_port()}"
    rc, out, err = await cli("run", "shopping", "--url", url, "--workers", "1", "--json", str(out_json))
    assert rc == 3, out + err
    assert "cannot reach" in err
    assert load(out_json)["outcome"] == "run failed"


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "fanout", "--spawn", "1", "--slo", "op_ack < 5ms"]) == 2
    assert "needs a statistic" in capsys.readouterr().err
    assert main(["run", "no-such-scenario", "--spawn", "1"]) == 2
    with pytest.raises(SystemExit):
        main(["run", "fanout", "--url", "http://127.0.0.1:1", "--spawn-db", "postgres"])
    assert "need --spawn N" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["run", "fanout", "--spawn", "1", "--url", "http://127.0.0.1:1"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["run", "fanout"])
    assert exc.value.code == 2
    assert main(["list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in ("shopping", "fanout", "storm", "soak"))
