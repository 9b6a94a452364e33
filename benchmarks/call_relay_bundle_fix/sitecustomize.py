"""Opt-in for ``python -m benchmarks.call_relay_capacity --relay-bundle-fix``: the server
relay's peer connections use ``bundlePolicy=max-bundle`` (imported by every Python process
started with this folder on ``PYTHONPATH``: the load tool, its workers, the spawned node).

Why: with aiortc's default (balanced) bundle policy the relay's second and later video
transceivers stay on a transport that BUNDLE negotiation discards, so the relay forwards no
video (see BENCHMARKS.md, "Calls: relay"). This stands in for that one-line fix in
cosession/calls/relay.py until it lands there; it changes nothing else.
"""

import contextlib
import functools
from typing import Any

with contextlib.suppress(ImportError):  # without aiortc (the calls extra) there is no relay
    import aiortc
    from aiortc.rtcconfiguration import RTCBundlePolicy

    import cosession.calls.relay

    relay: Any = cosession.calls.relay  # its peer connections are made with relay.RTCConfiguration(...)
    relay.RTCConfiguration = functools.partial(aiortc.RTCConfiguration, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
