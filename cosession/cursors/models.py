"""The ``member_cursors`` table: each member's read cursor in each room.

Created by ``cosession/migrations/versions/r0009_member_cursors.py``. One row per
(room, member); ``seq`` only grows (the writer keeps the larger of the stored and the new).
"""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel


class MemberCursorRow(SQLModel, table=True):
    __tablename__ = "member_cursors"

    room: str = Field(primary_key=True, max_length=64)
    member: str = Field(primary_key=True, max_length=64)
    seq: int = Field(sa_type=BigInteger)
    updated_at: int = Field(sa_type=BigInteger)  # ms
