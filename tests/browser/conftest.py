"""Browser fixtures: Debian's Chromium driven by Playwright's async API.

Never downloads a browser: Chromium comes from the system (``scripts/system-deps.sh``)
and the JS bundles from ``scripts/build-js.sh``; a missing one fails the tests with the
command to run (no skipping, so CI cannot pass without them).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, Playwright, async_playwright, expect

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "clients" / "js" / "dist"
ARTIFACTS = ROOT / "test-artifacts"
STEP_TIMEOUT_MS = 10_000  # every Playwright wait is bounded by this

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # two browsers side by side: neither may throttle its timers as a background window
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    "--font-render-hinting=none",
]

# WebRTC between pages on a loopback-only machine (TESTING-NOTES.md): fake camera and
# microphone, no permission prompt, host candidates on 127.0.0.1 (not mDNS names), and
# remote audio may play without a click
WEBRTC_FLAGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]

PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"
)
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
    "user_agent": PHONE_UA,
}
DESKTOP = {"viewport": {"width": 1280, "height": 860}, "device_scale_factor": 1}


def chromium_path() -> str:
    candidates = [os.environ.get("COSESSION_CHROMIUM", ""), "/usr/bin/chromium", "/usr/bin/chromium-browser"]
    for c in candidates:
        if c and Path(c).exists():
            return c
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    pytest.fail("Chromium is not installed: run scripts/system-deps.sh (apt-get install chromium)", pytrace=False)


def require_bundles() -> None:
    missing = [name for name in ("widget.js", "room.js") if not (DIST / name).is_file()]
    if missing:
        pytest.fail(f"JS bundles not built ({', '.join(missing)}): run scripts/build-js.sh", pytrace=False)


expect.set_options(timeout=STEP_TIMEOUT_MS)


class Browsers:
    """Each ``new_page`` is its own Chromium with a fresh profile (a separate person)."""

    def __init__(self, pw: Playwright, root: Path, executable: str) -> None:
        self.pw = pw
        self.root = root
        self.executable = executable
        self.contexts: list[BrowserContext] = []
        self.console: dict[str, list[str]] = {}

    async def new_page(
        self, name: str, extra_args: list[str] | None = None, **options: Any
    ) -> tuple[BrowserContext, Page]:
        profile = self.root / f"profile-{name}"
        profile.mkdir(parents=True, exist_ok=True)
        ctx = await self.pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=self.executable,
            headless=True,
            args=CHROMIUM_FLAGS + (extra_args or []),
            timeout=30_000,  # a cold Chromium start on a busy 2-core machine
            **options,
        )
        ctx.set_default_timeout(STEP_TIMEOUT_MS)
        ctx.set_default_navigation_timeout(STEP_TIMEOUT_MS)
        self.contexts.append(ctx)
        page = ctx.pages[0] if ctx.pages else await ctx.new_page()
        log = self.console.setdefault(name, [])
        page.on("console", lambda msg: log.append(f"{msg.type}: {msg.text}"))
        page.on("pageerror", lambda err: log.append(f"pageerror: {err}"))
        return ctx, page

    async def close(self) -> None:
        for ctx in self.contexts:
            try:
                await ctx.close()
            except Exception:  # a crashed browser is already gone
                pass


@pytest.fixture
async def browsers(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Browsers]:
    executable = chromium_path()
    require_bundles()
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as pw:
        b = Browsers(pw, tmp_path / "browsers", executable)
        try:
            yield b
        finally:
            report = getattr(request.node, "rep_call", None)
            if report is not None and report.failed:
                for name, lines in b.console.items():
                    print(f"--- console of {name} ---\n" + "\n".join(lines[-40:]))
            await b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
