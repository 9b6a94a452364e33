"""Erasure of a member's personal data from a stored log (pure, no I/O).

``member.erase`` tombstones the member in the state (``protocol.reducer.erase_member``).
The server then rewrites what it stored before: every event with ``scrub_event`` and every
snapshot with ``protocol.reducer.scrub_state``. The rewritten log, with the ``member.erase``
event still in it, folds to exactly the state the original log folds to (the scrubbed
fields are never read by a rule), which ``tests/property`` checks.
"""

from __future__ import annotations

import msgspec

from protocol.messages import Chat, Event, MemberJoin, RoomCreate
from protocol.reducer import ERASED_TEXT


def scrub_event(event: Event, member: str) -> Event:
    """``event`` without ``member``'s personal data (the same event when it has none)."""
    op = event.op
    if isinstance(op, Chat) and event.by == member:
        if op.text == ERASED_TEXT and op.product is None:
            return event
        return msgspec.structs.replace(event, op=msgspec.structs.replace(op, text=ERASED_TEXT, product=None))
    if isinstance(op, MemberJoin) and op.member == member and op.name:
        return msgspec.structs.replace(event, op=msgspec.structs.replace(op, name=""))
    if isinstance(op, RoomCreate) and op.owner == member and op.owner_name:
        return msgspec.structs.replace(event, op=msgspec.structs.replace(op, owner_name=""))
    return event
