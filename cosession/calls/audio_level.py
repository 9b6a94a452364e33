"""aiortc's per-frame audio level, computed with numpy.

aiortc's ``RTCRtpSender`` computes the RFC 6465 audio level (dBov) of every audio frame it
sends with a pure-Python loop over the samples, on the event loop: about 120-180 µs per
20 ms frame, more than half of what an Opus encode costs (and that runs in a thread). In
the server's relay every participant's audio is sent to every other one, so that loop was
about half of the node's CPU in a call of three (BENCHMARKS.md, "Calls: relay").
``audio_level_dbov`` gives the same value in a few microseconds; ``install()`` makes
aiortc use it, process-wide (the relay and the load tool's callers call it).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from av import AudioFrame


def audio_level_dbov(frame: AudioFrame) -> int:
    """aiortc's ``rtp.compute_audio_level_dbov`` (RFC 6465, Appendix A), vectorised: the
    same sum over every sample of the first plane, the same division by ``frame.samples``."""
    samples = np.frombuffer(bytes(frame.planes[0]), dtype=np.int16).astype(np.float64)
    rms = math.sqrt(float(np.dot(samples, samples)) / (frame.samples * 32767 * 32767))
    return round(min(max(20 * math.log10(rms), -127), 0)) if rms > 0 else -127


def install() -> None:
    """aiortc's senders compute the audio level with ``audio_level_dbov`` (this process)."""
    import aiortc.rtp

    module: Any = aiortc.rtp  # RTCRtpSender calls rtp.compute_audio_level_dbov(frame)
    module.compute_audio_level_dbov = audio_level_dbov
