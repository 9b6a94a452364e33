"""Golden vector cases for store context (SPEC section 20): codec, reducer and invalid frames.

``generate.py`` appends these to its own lists (like ``call_cases``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from protocol.messages import (
    Chat,
    Event,
    MemberJoin,
    PresenceMember,
    PresenceUpdate,
    RoomCreate,
    StoreContext,
)

if TYPE_CHECKING:
    from protocol.vectors.generate import _Log

Direction = Literal["client", "server"]

OWNER, MEMBER = "ana", "bo"
DOWNTOWN_SHOES = StoreContext(store="downtown", name="Downtown", department="Shoes")


def codec_messages(t0: int) -> list[tuple[str, Direction, Any]]:
    create = RoomCreate(name="Shoes", owner=OWNER, owner_name="Ana", store=DOWNTOWN_SHOES)
    minimal = RoomCreate(name="Shoes", owner=OWNER, owner_name="Ana", store=StoreContext(store="s1", name="Mall"))
    in_store = PresenceMember(member=OWNER, name="Ana", role="owner", device="phone", in_store=True)
    return [
        ("event/room.create/store", "server", Event(seq=1, ts=t0 + 1000, by="", op=create)),
        ("event/room.create/store-no-department", "server", Event(seq=1, ts=t0 + 1000, by="", op=minimal)),
        ("presence/join-in-store", "server", PresenceUpdate(kind="join", member=in_store)),
    ]


def _case_room_create_in_store(room: Callable[[], _Log]) -> _Log:
    from protocol.vectors.generate import _Log

    log = _Log()
    log.ok("", RoomCreate(name="Shoes", owner=OWNER, owner_name="Ana", store=DOWNTOWN_SHOES))
    log.ok("", MemberJoin(member=MEMBER, name="Bo", role="member"))
    log.ok(MEMBER, Chat(text="the blue ones?"))
    log.noop("", RoomCreate(name="Other", owner=MEMBER, owner_name="Bo", store=StoreContext(store="x", name="X")))
    return log


REDUCER_CASES: dict[str, Callable[[Callable[[], _Log]], _Log]] = {
    name.removeprefix("_case_"): fn for name, fn in list(globals().items()) if name.startswith("_case_")
}
