"""The Python call client's SDP reading (SPEC 14.6): fingerprints decide whether a relay offer
is a re-offer on the same connection, msid stream ids name whose track an m-line carries."""

from __future__ import annotations

from cosession_client.call_sdp import fingerprints, msid_streams

OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 1 1 IN IP4 0.0.0.0",
        "s=-",
        "t=0 0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 96",
        "a=recvonly",
        "a=mid:0",
        "a=msid:relay-own 1f2e",
        "a=fingerprint:SHA-256 ab:cd:EF",
        "m=audio 9 UDP/TLS/RTP/SAVPF 96",
        "a=sendonly",
        "a=msid:m_bo m_bo:audio",
        "a=mid:1",
        "a=fingerprint:sha-256 AB:CD:EF",
        "m=video 9 UDP/TLS/RTP/SAVPF 97",
        "a=inactive",
        "a=mid:2",
        "a=fingerprint:sha-384 01:02",
        "",
    ]
)


def test_fingerprints_are_normalised_and_collected_from_every_m_line() -> None:
    assert fingerprints(OFFER) == frozenset({"sha-256 AB:CD:EF", "sha-384 01:02"})
    assert fingerprints(OFFER.replace("01:02", "01:03")) != fingerprints(OFFER)
    assert fingerprints("v=0\r\n") == frozenset()


def test_msid_stream_ids_by_mid_whatever_the_attribute_order() -> None:
    assert msid_streams(OFFER) == {"0": "relay-own", "1": "m_bo"}  # mid 2 has no msid
