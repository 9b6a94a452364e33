"""The ``room_focus`` table: which products a room looked at, with no member in it.

One row per (room, product) the first time any member of the room focuses the product
(``cosession/trends/focus.py``); trends read it for "viewed together". Who looked is
never stored, so erasure of a member has nothing to remove here; the row goes with
its room.
"""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel


class RoomFocusRow(SQLModel, table=True):
    __tablename__ = "room_focus"

    room_id: str = Field(primary_key=True, max_length=64)
    product: str = Field(primary_key=True, max_length=128)
    first_ts: int = Field(sa_type=BigInteger)  # ms: the first focus in the room
