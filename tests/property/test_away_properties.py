"""Away in presence (SPEC 15), over random connects, disconnects and ``away`` frames: a
member is away exactly when it has connections and every one of them said it is in the
background; a change of that is reported once, and nothing else reports it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cosession.rooms.presence import Presence
from tests.property.test_reducer_properties import SETTINGS

Step = tuple[str, int, bool]
steps = st.lists(st.tuples(st.sampled_from(["connect", "disconnect", "away"]), st.integers(1, 4), st.booleans()))


@SETTINGS
@given(steps)
def test_a_member_is_away_when_all_its_connections_are(script: list[Step]) -> None:
    presence = Presence()
    conns: set[int] = set()
    away: set[int] = set()
    for action, conn, on in script:
        before = presence.get("bo")
        if action == "connect" and conn not in conns:
            presence.connect("bo", conn, name="Bo", role="member", device="phone")
            conns.add(conn)
        elif action == "disconnect" and conn in conns:
            presence.disconnect("bo", conn)
            conns.discard(conn)
            away.discard(conn)
            if not conns:
                presence.expire("bo")
        elif action == "away":
            changed = presence.set_away("bo", conn, on)
            if conn in conns:
                (away.add if on else away.discard)(conn)
            expected = bool(conns) and away >= conns
            was = before.away if before is not None else False
            assert (changed is not None) == (conn in conns and was != expected)
        entry = presence.get("bo")
        if conns:
            assert entry is not None and entry.away == (away >= conns) and entry.connections == len(conns)
        else:
            assert entry is None
