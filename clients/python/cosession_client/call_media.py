"""Media for a Python call participant: synthetic tracks (a sine tone, a moving colour
pattern, made with numpy) or the tracks of a file or device (aiortc's ``MediaPlayer``).

Needs the ``calls`` extra (``pip install 'cosession[calls]'``: aiortc, numpy).
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from typing import Any

import numpy as np
from aiortc import MediaStreamTrack, VideoStreamTrack
from av import AudioFrame, VideoFrame

SAMPLE_RATE = 48_000
PTIME = 0.02  # seconds of audio per frame


class ToneTrack(MediaStreamTrack):
    """A sine tone, 20 ms mono s16 frames at 48 kHz, paced in real time."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0, volume: float = 0.3) -> None:
        super().__init__()
        self.frequency = frequency
        self.volume = volume
        self._samples = int(SAMPLE_RATE * PTIME)
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            from aiortc.mediastreams import MediaStreamError

            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:  # real-time pacing: frame n is due at start + n * ptime
            wait = self._start + self._pts / SAMPLE_RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        t = (np.arange(self._samples) + self._pts) / SAMPLE_RATE
        wave = (np.sin(2 * math.pi * self.frequency * t) * self.volume * 32767).astype(np.int16)
        frame = AudioFrame.from_ndarray(wave.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._pts += self._samples
        return frame


class PatternTrack(VideoStreamTrack):
    """A small video whose colour cycles, 30 frames per second (aiortc's pacing)."""

    def __init__(self, width: int = 320, height: int = 240) -> None:
        super().__init__()
        self.width = width
        self.height = height
        self._n = 0

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        self._n += 1
        image = np.zeros((self.height, self.width, 3), dtype=np.uint8)
        image[:, :, self._n % 3] = 200
        image[: self.height // 2, : (self._n * 4) % self.width] = 255  # a moving bar
        # handed out in the encoders' format: a MediaRelay gives this one frame to every
        # peer's encoder thread, and converting it there (a shared reformatter) crashes libav
        frame = VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p")
        frame.pts = pts
        frame.time_base = time_base
        return frame


def synthetic_tracks(audio: bool, video: bool) -> list[MediaStreamTrack]:
    tracks: list[MediaStreamTrack] = []
    if audio:
        tracks.append(ToneTrack())
    if video:
        tracks.append(PatternTrack())
    return tracks


def file_tracks(path: str, *, loop: bool = True, **options: Any) -> list[MediaStreamTrack]:
    """The audio and video tracks of a media file (or a device, with ``format``/``options``
    as for ``aiortc.contrib.media.MediaPlayer``)."""
    from aiortc.contrib.media import MediaPlayer

    player = MediaPlayer(path, loop=loop, **options)
    return [t for t in (player.audio, player.video) if t is not None]
