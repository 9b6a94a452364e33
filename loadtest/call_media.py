"""Media for the ``call`` scenario's callers, made to be cheap and counted.

* ``PacedTone``: a 440 Hz tone, 20 ms mono frames at 48 kHz (one second of it is computed
  once); ``PacedPattern``: a moving bar in yuv420p (a few frames computed once) at any size
  and frame rate. Both pace themselves in real time and call ``on_frame`` for every frame
  they hand out (the frames a caller *sends*). After a pause (nobody pulled, e.g. between
  two peer connections) they restart their clock instead of sending a burst to catch up.
* ``skip_decoding()``: received RTP is reassembled into frames as usual but not decoded
  (each encoded frame counts as one frame): a caller that only counts what it receives
  then costs far less than the server relay that decodes and re-encodes (``-p decode=0``).
* (callers also install ``cosession.calls.audio_level``: aiortc's per-frame audio level
  with numpy, the same value for a fraction of the CPU.)

Process-wide patches, for load-tool worker processes only. Needs the ``calls`` extra.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

SAMPLE_RATE = 48_000
PTIME = 0.02  # seconds of audio per frame
AUDIO_FPS = 50  # frames per second of audio (1 / PTIME)
VIDEO_CLOCK = 90_000
RESYNC_AFTER = 0.5  # seconds late: a pause, not jitter; start the clock again
PATTERN_FRAMES = 12  # distinct video frames, cycled


def _noop() -> None:
    return None


class _Paced(MediaStreamTrack):
    """Frame ``n`` is due at ``start + n / fps``."""

    def __init__(self, fps: float, on_frame: Callable[[], None] | None) -> None:
        super().__init__()
        self.fps = fps
        self.on_frame = on_frame or _noop
        self.sent = 0
        self._n = 0  # frames since the clock (re)started
        self._start: float | None = None

    async def _pace(self) -> int:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None or now - (self._start + self._n / self.fps) > RESYNC_AFTER:
            self._start, self._n = now, 0
        else:
            wait = self._start + self._n / self.fps - now
            if wait > 0:
                await asyncio.sleep(wait)
        self._n += 1
        self.sent += 1
        self.on_frame()
        return self.sent - 1


class PacedTone(_Paced):
    kind = "audio"

    def __init__(self, on_frame: Callable[[], None] | None = None, frequency: float = 440.0) -> None:
        super().__init__(AUDIO_FPS, on_frame)
        t = np.arange(SAMPLE_RATE) / SAMPLE_RATE  # one second: a whole number of periods at 440 Hz
        wave = (np.sin(2 * math.pi * frequency * t) * 0.3 * 32767).astype(np.int16)
        self._chunks = wave.reshape(AUDIO_FPS, 1, -1)

    async def recv(self) -> AudioFrame:
        n = await self._pace()
        frame = AudioFrame.from_ndarray(self._chunks[n % AUDIO_FPS], format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = n * int(SAMPLE_RATE * PTIME)
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        return frame


class PacedPattern(_Paced):
    kind = "video"

    def __init__(
        self, width: int = 320, height: int = 240, fps: float = 30.0, on_frame: Callable[[], None] | None = None
    ) -> None:
        super().__init__(fps, on_frame)
        width, height = width - width % 2, height - height % 2  # yuv420p: even sizes
        self._planes = []
        for i in range(PATTERN_FRAMES):  # Y plane then the quarter-size U and V planes, stacked
            y = np.full((height, width), 60 + 12 * i, dtype=np.uint8)
            bar = (i * width) // PATTERN_FRAMES
            y[: height // 2, bar : bar + max(2, width // 8)] = 235
            uv = np.full((height // 2, width), 90 + 10 * (i % 4), dtype=np.uint8)
            self._planes.append(np.concatenate([y, uv]))

    async def recv(self) -> VideoFrame:
        n = await self._pace()
        frame = VideoFrame.from_ndarray(self._planes[n % PATTERN_FRAMES], format="yuv420p")
        frame.pts = int(n * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        return frame


class _CountOnly:
    """A 'decoder' that hands every reassembled encoded frame on as it is."""

    def decode(self, encoded_frame: Any) -> list[Any]:
        return [encoded_frame]


def skip_decoding() -> None:
    """Received media are counted per encoded frame, not decoded (this process only)."""
    import aiortc.rtcrtpreceiver

    module: Any = aiortc.rtcrtpreceiver  # the receiver's decoder threads look the factory up here
    module.get_decoder = lambda codec: _CountOnly()


def parse_size(text: str) -> tuple[int, int]:
    """``"320x240"`` → (320, 240)."""
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or int(width) < 2 or int(height) < 2:
        raise ValueError(f"video_size: expected WIDTHxHEIGHT, got {text!r}")
    return int(width), int(height)
