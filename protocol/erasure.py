"""Erasure of a member's personal data from a stored log (pure, no I/O).

``member.erase`` tombstones the member in the state (``protocol.reducer.erase_member``).
The server then rewrites what it stored before: every event with ``scrub_event`` and every
snapshot with ``protocol.reducer.scrub_state``. The rewritten log, with the ``member.erase``
event still in it, folds to exactly the state the original log folds to (the scrubbed
fields are never read by a rule), which ``tests/property`` checks.
"""

from __future__ import annotations

import msgspec

from protocol.messages import Chat, CheckoutStart, Event, HelpRequest, MemberJoin, RoomCreate
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
    if isinstance(op, CheckoutStart):
        return _scrub_checkout(event, op, member)
    if isinstance(op, HelpRequest) and event.by == member and op.note is not None:
        return msgspec.structs.replace(event, op=msgspec.structs.replace(op, note=None))
    return event


def _scrub_checkout(event: Event, op: CheckoutStart, member: str) -> Event:
    """A checkout snapshot without ``member``'s name: as requester and as author of lines.
    Its ``sig`` is left as it was, so the scrubbed snapshot no longer verifies (SPEC 8.5)."""
    named = op.requested_by == member and op.requested_by_name
    lines = [
        msgspec.structs.replace(line, added_by_name="") if line.added_by == member and line.added_by_name else line
        for line in op.lines
    ]
    if not named and all(a is b for a, b in zip(lines, op.lines, strict=True)):
        return event
    scrubbed = msgspec.structs.replace(op, requested_by_name="" if named else op.requested_by_name, lines=lines)
    return msgspec.structs.replace(event, op=scrubbed)
