"""What a call client reads from an SDP (SPEC section 14.6): the DTLS fingerprints, which tell a
relay re-offer on the same peer connection from an offer for a new one, and the ``msid``
stream id of each m-line (``mid``), which names the member whose track it carries."""

from __future__ import annotations


def fingerprints(sdp: str) -> frozenset[str]:
    """The ``a=fingerprint`` values (``<hash> <hex>``, hex upper-cased) of an SDP."""
    found = set()
    for line in sdp.splitlines():
        if line.startswith("a=fingerprint:"):
            algorithm, _, value = line.removeprefix("a=fingerprint:").strip().partition(" ")
            found.add(f"{algorithm.lower()} {value.strip().upper()}")
    return frozenset(found)


def msid_streams(sdp: str) -> dict[str, str]:
    """The ``msid`` stream id of each m-line that has one, by its ``mid``."""
    streams: dict[str, str] = {}
    mid: str | None = None
    stream: str | None = None

    def close_section() -> None:
        if mid is not None and stream:
            streams[mid] = stream

    for line in sdp.splitlines():
        if line.startswith("m="):
            close_section()
            mid = stream = None
        elif line.startswith("a=mid:"):
            mid = line.removeprefix("a=mid:").strip()
        elif line.startswith("a=msid:"):
            stream = line.removeprefix("a=msid:").strip().partition(" ")[0]
    close_section()
    return streams
