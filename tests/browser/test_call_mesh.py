"""Calls in real Chromium (SPEC section 14, mesh mode): two phones on the real room page
call each other with fake camera and microphone; media flows both ways (inbound-rtp bytes
grow on both sides, audio and video); mute and camera off show on the other phone's tile
through presence; leaving ends the call (``call.end`` in the room's log). A room page and
the aiortc Python client call each other too. A browser that refuses the camera and
microphone shows a clear state with a way to try again."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Page, expect

from cosession_client.call import Call
from cosession_client.client import RoomClient
from protocol.messages import CallEnd, CallStart
from tests.browser.a11y import serious_violations
from tests.browser.conftest import PHONE, WEBRTC_FLAGS, Browsers, artifact
from tests.conftest import ServerFactory
from tests.support.calls import call_event
from tests.support.loopback_ice import loopback_only
from tests.support.raw import RawClient
from tests.support.server import ServerProcess

CALL_TIMEOUT_MS = 20_000  # ICE + DTLS on a busy 2-core machine

# bytes received per kind over every peer connection of the page's call
INBOUND = """async () => {
  const mesh = window.__cosession.view.callUi.mesh;
  const out = { audio: 0, video: 0, peers: mesh.peers.size };
  for (const peer of mesh.peers.values()) {
    const stats = await peer.pc.getStats();
    stats.forEach((r) => { if (r.type === "inbound-rtp") out[r.kind] += r.bytesReceived || 0; });
  }
  return out;
}"""


async def join_room(browsers: Browsers, invite_url: str, name: str, extra_args: list[str]) -> Page:
    # bypass_csp: axe is injected as an inline script (the room page's CSP forbids it)
    _, page = await browsers.new_page(name, extra_args=extra_args, bypass_csp=True, **PHONE)
    await page.goto(invite_url)
    await page.get_by_test_id("join-name").fill(name)
    await page.get_by_test_id("join").click()
    await expect(page.get_by_test_id("status")).to_have_text("Live")
    return page


def tile(page: Page, name: str) -> Any:
    return page.locator("[data-testid=call-tile]").filter(
        has=page.get_by_test_id("tile-name").get_by_text(name, exact=True)
    )


async def inbound(page: Page) -> dict[str, int]:
    result: dict[str, int] = await page.evaluate(INBOUND)
    return result


async def grows_both_kinds(page: Page) -> None:
    """Audio and video bytes arrive, and keep arriving (polled, bounded)."""
    first = await inbound(page)
    for _ in range(100):
        now = await inbound(page)
        if now["audio"] > first["audio"] > 0 and now["video"] > first["video"] > 0:
            return
        if first["audio"] == 0 or first["video"] == 0:
            first = now
        await page.wait_for_timeout(100)
    raise AssertionError(f"inbound media did not grow: {first} -> {now}")


async def test_two_room_pages_call_each_other_in_mesh_mode(server_factory: ServerFactory, browsers: Browsers) -> None:
    server: ServerProcess = await server_factory()
    created = await server.create_room(name="Call room", owner_name="Olga")
    watcher, _ = await RawClient.join(server.ws_url, created["token"])  # reads the log
    invite = created["invite"]["url"]
    ana = await join_room(browsers, invite, "Ana", WEBRTC_FLAGS)
    bo = await join_room(browsers, invite, "Bo", WEBRTC_FLAGS)

    await expect(ana.get_by_test_id("call-join")).to_have_text("Video call")
    await ana.get_by_test_id("call-join").click()
    await expect(ana.get_by_test_id("call-status")).to_have_text(re.compile("Waiting for others"))
    await expect(ana.locator("[data-testid=call-tile][data-self=true]")).to_have_count(1)
    # Bo sees the call before joining it, and joins with video
    await expect(bo.get_by_test_id("call-status")).to_have_text("Ana is in a call")
    await expect(bo.get_by_test_id("call-join")).to_have_text("Join with video")
    await bo.get_by_test_id("call-join").click()

    for page, other in ((ana, "Bo"), (bo, "Ana")):
        await expect(tile(page, other)).to_have_attribute("data-link", "connected", timeout=CALL_TIMEOUT_MS)
        await expect(page.get_by_test_id("call-status")).to_have_text(f"In the call with {other}")
        await expect(page.locator("[data-testid=call-tile]")).to_have_count(2)
    start = await call_event(watcher, "call.start", timeout=10)
    assert isinstance(start.op, CallStart) and start.op.video

    await grows_both_kinds(ana)
    await grows_both_kinds(bo)
    await expect(tile(bo, "Ana")).to_have_attribute("data-camera", "true")
    # Chromium's fake microphone beeps: Ana's level meter says she speaks, Bo's tile shows it
    await expect(tile(bo, "Ana")).to_have_attribute("data-speaking", "true", timeout=CALL_TIMEOUT_MS)
    await bo.screenshot(path=artifact("call-mesh-bo-360.png"))
    assert await serious_violations(bo) == []

    # mute and camera off reach the other phone through presence
    mute = ana.get_by_role("button", name="Mute")
    await expect(mute).to_have_attribute("aria-pressed", "false")
    await mute.click()
    await expect(mute).to_have_attribute("aria-pressed", "true")
    await expect(tile(bo, "Ana")).to_have_attribute("data-muted", "true")
    await expect(tile(bo, "Ana").get_by_test_id("tile-flags")).to_contain_text("muted")
    await ana.get_by_role("button", name="Stop video").click()
    await expect(tile(bo, "Ana")).to_have_attribute("data-camera", "false")
    await expect(tile(bo, "Ana").get_by_test_id("tile-flags")).to_contain_text("camera off")
    await bo.screenshot(path=artifact("call-mesh-bo-ana-muted-360.png"))
    await ana.get_by_role("button", name="Mute").click()
    await expect(tile(bo, "Ana")).to_have_attribute("data-muted", "false")

    # Ana leaves: Bo is alone in the call; Bo leaves: the call ends in the log
    await ana.get_by_test_id("call-leave").click()
    await expect(ana.locator("[data-testid=call-tile]")).to_have_count(0)
    await expect(tile(bo, "Ana")).to_have_count(0)
    await expect(bo.get_by_test_id("call-status")).to_have_text(re.compile("Waiting for others"))
    await bo.get_by_test_id("call-leave").click()
    end = await call_event(watcher, "call.end", timeout=10)
    assert isinstance(end.op, CallEnd) and end.op.duration_ms > 0
    await expect(bo.get_by_test_id("call-join")).to_have_text("Video call")
    # the watcher may see call.end a moment before Bo's page does
    await bo.wait_for_function("() => window.__cosession.conn.state.call == null")
    await watcher.close()


async def test_a_room_page_and_the_python_client_call_each_other(
    server_factory: ServerFactory, browsers: Browsers
) -> None:
    """Chromium <-> aiortc in mesh mode: the kiosk (Python) is in the call first, so the page
    offers (with trickled candidates) and aiortc answers; media flows both ways."""
    server: ServerProcess = await server_factory()
    created = await server.create_room(name="Call room", owner_name="Olga")
    joined = await server.accept(created["invite"]["code"], "Kiosk")
    client = await RoomClient.connect(joined["token"], server=server.http_url)
    page = await join_room(browsers, created["invite"]["url"], "Ana", WEBRTC_FLAGS)
    ana = await page.evaluate("() => window.__cosession.conn.member")
    with loopback_only():
        kiosk = Call(client, audio=True, video=True, ice_servers=[])
        try:
            await kiosk.join()
            await expect(page.get_by_test_id("call-status")).to_have_text("Kiosk is in a call")
            await page.get_by_test_id("call-join").click()
            await expect(tile(page, "Kiosk")).to_have_attribute("data-link", "connected", timeout=CALL_TIMEOUT_MS)
            await expect(page.get_by_test_id("call-status")).to_have_text("In the call with Kiosk")
            await grows_both_kinds(page)  # the kiosk's tone and pattern reach the page
            await expect(tile(page, "Kiosk")).to_have_attribute("data-camera", "true")
            # the page's fake microphone and camera reach the kiosk
            assert await kiosk.wait_frames(ana, "audio", 25, timeout=CALL_TIMEOUT_MS / 1000) >= 25
            assert await kiosk.wait_frames(ana, "video", 10, timeout=CALL_TIMEOUT_MS / 1000) >= 10
            assert kiosk.connection_state(ana) == "connected" and kiosk.errors == []
            await page.get_by_test_id("call-leave").click()  # a bye: the kiosk closes its side
            await kiosk.wait_for(lambda: ana not in kiosk.peers)
        finally:
            await kiosk.leave()
            await client.close()


async def test_refused_camera_and_microphone_show_a_clear_state(
    server_factory: ServerFactory, browsers: Browsers
) -> None:
    server: ServerProcess = await server_factory()
    created = await server.create_room(name="Call room", owner_name="Olga")
    # fake devices, but no fake "allow": every permission prompt is denied
    page = await join_room(
        browsers, created["invite"]["url"], "Dee", ["--use-fake-device-for-media-stream", "--deny-permission-prompts"]
    )
    await page.get_by_test_id("call-join").click()
    status = page.get_by_test_id("call-status")
    await expect(status).to_have_text(re.compile("Camera and microphone are blocked"))
    await expect(status).to_have_attribute("role", "status")
    await expect(page.get_by_role("button", name="Try again")).to_be_visible()
    await expect(page.get_by_test_id("call-join")).to_be_hidden()
    await expect(page.locator("[data-testid=call-tile]")).to_have_count(0)
    await page.screenshot(path=artifact("call-permission-denied-360.png"))
    # nothing was sent: the room shows nobody in a call
    assert await page.evaluate("() => window.__cosession.conn.myCall") is None


# Peer connections that may use TURN relays only (what a network that blocks direct
# connections amounts to): with no TURN server to relay, ICE fails.
RELAY_ONLY = """(() => {
  const Native = window.RTCPeerConnection;
  function RelayOnly(config, ...rest) {
    return new Native({ ...(config || {}), iceTransportPolicy: "relay" }, ...rest);
  }
  RelayOnly.prototype = Native.prototype;
  window.RTCPeerConnection = RelayOnly;
})()"""


async def test_unreachable_peer_without_turn_says_turn_is_needed(
    server_factory: ServerFactory, browsers: Browsers
) -> None:
    server: ServerProcess = await server_factory()  # no --turn-url: welcome.ice has no TURN
    created = await server.create_room(name="Call room", owner_name="Olga")
    pages = []
    for name in ("Ana", "Bo"):
        ctx, page = await browsers.new_page(name, extra_args=WEBRTC_FLAGS, **PHONE)
        await ctx.add_init_script(RELAY_ONLY)
        await page.goto(created["invite"]["url"])
        await page.get_by_test_id("join-name").fill(name)
        await page.get_by_test_id("join").click()
        await expect(page.get_by_test_id("status")).to_have_text("Live")
        await page.get_by_test_id("call-join").click()
        pages.append(page)
    ana, bo = pages
    await expect(tile(ana, "Bo")).to_have_attribute("data-link", "failed", timeout=60_000)
    status = ana.get_by_test_id("call-status")
    await expect(status).to_have_text(re.compile("Could not reach Bo: this network needs a TURN relay server"))
    await expect(tile(ana, "Bo").get_by_test_id("tile-flags")).to_contain_text("not reachable")
    await ana.screenshot(path=artifact("call-turn-needed-360.png"))
    await expect(tile(bo, "Ana")).to_have_attribute("data-link", "failed", timeout=60_000)
    await expect(bo.get_by_test_id("call-status")).to_have_text(re.compile("Could not reach Ana"))


async def test_widget_panel_on_a_phone_joins_the_call(server_factory: ServerFactory, browsers: Browsers) -> None:
    """The widget's panel (in its shadow root) has the same call bar: preview, buttons."""
    server: ServerProcess = await server_factory("--demo")
    _, page = await browsers.new_page("shopper", extra_args=WEBRTC_FLAGS, bypass_csp=True, **PHONE)
    await page.goto(server.http_url + "/demo")
    await page.get_by_test_id("launcher").click()
    await page.get_by_test_id("start-name").fill("Dana")
    await page.get_by_test_id("start").click()
    await expect(page.get_by_test_id("status")).to_have_attribute("data-status", "live")
    await page.get_by_role("button", name="Voice only").click()
    await expect(page.get_by_test_id("call-status")).to_have_text(re.compile("Waiting for others"))
    me = page.locator("[data-testid=call-tile][data-self=true]")
    await expect(me).to_have_attribute("data-camera", "false")
    await expect(page.get_by_role("button", name="Mute")).to_be_visible()
    await expect(page.get_by_role("button", name="Stop video")).to_be_hidden()  # audio only
    await page.screenshot(path=artifact("call-widget-phone-audio.png"))
    assert await serious_violations(page, ["cosession-widget", "[data-testid=panel]"]) == []
    await page.get_by_test_id("call-leave").click()
    await expect(page.locator("[data-testid=call-tile]")).to_have_count(0)
