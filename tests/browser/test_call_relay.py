"""Relay mode in real Chromium (SPEC section 14.6): the room page holds ONE peer connection to
the server's relay, answers its offers, and shows every relayed track in the tile of the
member its msid names. Three participants (two pages and the aiortc Python client) each get
the other two's media through the relay (a page receives video from both others); a call
that grows past ``--call-mesh-max`` moves from mesh to the relay and back without dropping
the pages' media; a server with no relay shows a clear state."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from cosession_client.call import Call
from cosession_client.call_media import PatternTrack, ToneTrack
from cosession_client.client import RoomClient
from tests.browser.conftest import WEBRTC_FLAGS, Browsers, artifact
from tests.browser.test_call_mesh import CALL_TIMEOUT_MS, join_room, tile
from tests.conftest import ServerFactory
from tests.support.loopback_ice import loopback_only
from tests.support.server import ServerProcess

RELAY_ARGS = ("--call-relay-address", "127.0.0.1")
FRAMES = 25  # half a second of 20 ms audio frames
VIDEO_FRAMES = 10  # a third of a second of 30 fps video

# bytes received per member and kind over the page's relay connection (mid -> member by msid)
RELAYED = """async () => {
  const call = window.__cosession.view.callUi.mesh;
  const out = { mesh: call.peers.size, relay: call.relay.state, mode: call.mode, members: {} };
  if (!call.relay.pc) return out;
  const stats = await call.relay.pc.getStats();
  stats.forEach((r) => {
    if (r.type !== "inbound-rtp") return;
    const member = call.relay.mids.get(r.mid) || "?";
    const m = (out.members[member] = out.members[member] || { audio: 0, video: 0 });
    m[r.kind] += r.bytesReceived || 0;
  });
  return out;
}"""

# every remote tile shows the stream the relay labelled with its member's id
TILE_STREAMS = """() => [...document.querySelectorAll("[data-testid=call-tile][data-self=false]")].map((li) => {
  const v = li.querySelector("video");
  return [li.dataset.member, v.srcObject ? v.srcObject.id : null];
})"""


# what the page's call holds at each change: mode, relay connection state, mesh connection states
WATCH_SWITCH = """() => {
  const c = window.__cosession.view.callUi.mesh;
  window.__switchLog = [];
  const mesh = () => [...c.peers.values()].map((p) => p.state);
  c.onChange(() => window.__switchLog.push({ mode: c.mode, relay: c.relay.state, mesh: mesh() }));
}"""


async def relayed(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(RELAYED)
    return result


async def hears_through_relay(page: Page, members: list[str], kinds: tuple[str, ...] = ("audio",)) -> None:
    """Bytes of each member's ``kinds`` arrive through the one relay connection, and keep
    arriving (polled, bounded)."""

    def counts(r: dict[str, Any]) -> list[int]:
        return [r["members"].get(m, {}).get(k, 0) for m in members for k in kinds]

    first = await relayed(page)
    now = first
    for _ in range(150):
        now = await relayed(page)
        if now["mesh"] == 0 and all(b > a > 0 for a, b in zip(counts(first), counts(now), strict=True)):
            return
        if not all(counts(first)):
            first = now
        await page.wait_for_timeout(100)
    raise AssertionError(f"relayed media did not grow for {members} {kinds}: {first} -> {now}")


async def member_of(page: Page) -> str:
    member: str = await page.evaluate("() => window.__cosession.conn.member")
    return member


async def test_three_participants_through_the_relay(server_factory: ServerFactory, browsers: Browsers) -> None:
    server: ServerProcess = await server_factory("--call-mode", "relay", *RELAY_ARGS)
    created = await server.create_room(name="Call room", owner_name="Olga")
    invite = created["invite"]["url"]
    joined = await server.accept(created["invite"]["code"], "Kiosk")
    client = await RoomClient.connect(joined["token"], server=server.http_url)
    ana = await join_room(browsers, invite, "Ana", WEBRTC_FLAGS)
    bo = await join_room(browsers, invite, "Bo", WEBRTC_FLAGS)
    ids = {"Ana": await member_of(ana), "Bo": await member_of(bo), "Kiosk": joined["member"]}
    with loopback_only():
        # the kiosk's camera too (small frames: the relay re-encodes every video per receiver)
        kiosk = Call(client, video=True, tracks=[ToneTrack(), PatternTrack(96, 64)], ice_servers=[])
        try:
            await ana.get_by_test_id("call-join").click()  # Ana's camera goes through the relay
            await expect(ana.get_by_test_id("call-status")).to_have_text(re.compile("Waiting for others"))
            await bo.get_by_role("button", name="Voice only").click()
            await kiosk.join()
            for page, me in ((ana, "Ana"), (bo, "Bo")):
                others = [n for n in ids if n != me]
                for other in others:
                    await expect(tile(page, other)).to_have_attribute("data-link", "connected", timeout=CALL_TIMEOUT_MS)
                await expect(page.get_by_test_id("call-status")).to_have_text(re.compile("In the call with"))
                await expect(page.locator("[data-testid=call-tile]")).to_have_count(3)
                await hears_through_relay(page, [ids[n] for n in others])
                # each remote tile plays the stream the relay labelled with that member's id
                streams = dict(await page.evaluate(TILE_STREAMS))
                assert streams == {ids[n]: ids[n] for n in others}
            await expect(tile(bo, "Ana")).to_have_attribute("data-camera", "true")
            await expect(tile(ana, "Bo")).to_have_attribute("data-camera", "false")
            # video: Bo (voice only) gets both others' cameras, Ana the kiosk's, the kiosk Ana's
            await hears_through_relay(bo, [ids["Ana"], ids["Kiosk"]], ("audio", "video"))
            await hears_through_relay(ana, [ids["Kiosk"]], ("video",))
            assert await kiosk.wait_frames(ids["Ana"], "video", VIDEO_FRAMES, timeout=30) >= VIDEO_FRAMES
            # Chromium's fake microphone beeps: Ana's level meter says she speaks (presence)
            await expect(tile(bo, "Ana")).to_have_attribute("data-speaking", "true", timeout=CALL_TIMEOUT_MS)
            for name in ("Ana", "Bo"):
                assert await kiosk.wait_frames(ids[name], "audio", FRAMES, timeout=30) >= FRAMES
            await bo.screenshot(path=artifact("call-relay-bo-360.png"))

            # mute shows on the others' tiles in relay mode too (presence)
            await bo.get_by_role("button", name="Mute").click()
            await expect(tile(ana, "Bo")).to_have_attribute("data-muted", "true")
            # the kiosk leaves: its tile goes (the roster), Ana and Bo keep hearing each other
            await kiosk.leave()
            for page, other in ((ana, "Bo"), (bo, "Ana")):
                await expect(tile(page, "Kiosk")).to_have_count(0)
                await expect(page.locator("[data-testid=call-tile]")).to_have_count(2)
                await hears_through_relay(page, [ids[other]])
                await expect(tile(page, other)).to_have_attribute("data-link", "connected")
        finally:
            await kiosk.leave()
            await client.close()


async def test_a_call_past_the_mesh_limit_moves_to_the_relay_and_back(
    server_factory: ServerFactory, browsers: Browsers
) -> None:
    server: ServerProcess = await server_factory("--call-mesh-max", "2", *RELAY_ARGS)
    created = await server.create_room(name="Call room", owner_name="Olga")
    invite = created["invite"]["url"]
    joined = await server.accept(created["invite"]["code"], "Kiosk")
    client = await RoomClient.connect(joined["token"], server=server.http_url)
    ana = await join_room(browsers, invite, "Ana", WEBRTC_FLAGS)
    bo = await join_room(browsers, invite, "Bo", WEBRTC_FLAGS)
    ids = {"Ana": await member_of(ana), "Bo": await member_of(bo), "Kiosk": joined["member"]}
    with loopback_only():
        kiosk = Call(client, audio=True, video=False, ice_servers=[])
        try:
            for page in (ana, bo):
                await page.get_by_role("button", name="Voice only").click()
            for page, other in ((ana, "Bo"), (bo, "Ana")):  # two: mesh
                await expect(tile(page, other)).to_have_attribute("data-link", "connected", timeout=CALL_TIMEOUT_MS)
                state = await relayed(page)
                assert state["mode"] == "mesh" and state["mesh"] == 1 and state["relay"] is None

            for page in (ana, bo):
                await page.evaluate(WATCH_SWITCH)
            await kiosk.join()  # three: past the mesh limit, everyone moves to the relay
            for page, me in ((ana, "Ana"), (bo, "Bo")):
                others = [ids[n] for n in ids if n != me]
                await hears_through_relay(page, others)  # and the mesh connection is closed
                for name in ids:
                    if name != me:
                        await expect(tile(page, name)).to_have_attribute("data-link", "connected")
            for page in (ana, bo):  # at every change the other page was reachable: mesh or relay up
                log: list[dict[str, Any]] = await page.evaluate("() => window.__switchLog")
                switching = [e for e in log if e["mode"] == "relay"]
                assert switching and switching[-1] == {"mode": "relay", "relay": "connected", "mesh": []}
                assert all(e["relay"] == "connected" or "connected" in e["mesh"] for e in switching), log
            for name in ("Ana", "Bo"):
                assert await kiosk.wait_frames(ids[name], "audio", FRAMES, timeout=30) >= FRAMES

            await kiosk.leave()  # two again: back to mesh, the relay connection closes once it is up
            for page, other in ((ana, "Bo"), (bo, "Ana")):
                await expect(tile(page, "Kiosk")).to_have_count(0)
                await page.wait_for_function(
                    "() => { const c = window.__cosession.view.callUi.mesh;"
                    " return c.mode === 'mesh' && c.relay.state === null && c.peers.size === 1"
                    " && [...c.peers.values()][0].state === 'connected'; }",
                    timeout=CALL_TIMEOUT_MS,
                )
                await expect(tile(page, other)).to_have_attribute("data-link", "connected")
                await expect(page.get_by_test_id("call-status")).to_have_text(f"In the call with {other}")
        finally:
            await kiosk.leave()
            await client.close()


async def test_relay_mode_without_a_relay_says_so(tmp_path: Path, browsers: Browsers) -> None:
    """A server without aiortc never offers: after the connect timeout the page says the
    relay could not be reached (and the call can still be left)."""
    hidden = tmp_path / "hide"
    (hidden / "aiortc").mkdir(parents=True)
    (hidden / "aiortc" / "__init__.py").write_text('raise ImportError("aiortc hidden by the test")\n')
    pythonpath = os.pathsep.join(p for p in (str(hidden), os.environ.get("PYTHONPATH", "")) if p)
    (tmp_path / "srv").mkdir()
    server = ServerProcess(tmp_path / "srv", "--call-mode", "relay", env={"PYTHONPATH": pythonpath})
    await server.start()
    try:
        created = await server.create_room(name="Call room", owner_name="Olga")
        page = await join_room(browsers, created["invite"]["url"], "Ana", WEBRTC_FLAGS)
        await page.get_by_test_id("call-join").click()
        status = page.get_by_test_id("call-status")
        await expect(page.get_by_test_id("call")).to_have_attribute("data-state", "relay-failed", timeout=40_000)
        await expect(status).to_have_text(re.compile("Could not connect to the call through the server.s relay"))
        await expect(page.get_by_test_id("call-leave")).to_be_visible()
        await page.screenshot(path=artifact("call-relay-unavailable-360.png"))
    finally:
        await server.stop()
