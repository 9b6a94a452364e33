"""The ``poll_deadlines`` table (Alembic revision ``r0010_poll_deadlines``).

One row per stored ``poll.create`` event, written in the same transaction
(``cosession/polls/deadlines.py``) and deleted once the poll's ``poll.close`` is in the
log (or the poll turned out not to exist). ``lease_owner``/``lease_until`` say which node
is closing it right now; a node that dies holding a lease loses it when it expires.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index
from sqlmodel import Field, SQLModel


class PollDeadlineRow(SQLModel, table=True):
    __tablename__ = "poll_deadlines"
    __table_args__ = (Index("ix_poll_deadlines_deadline", "deadline"),)

    room_id: str = Field(primary_key=True, max_length=64)
    poll: int = Field(primary_key=True, sa_type=BigInteger)  # the seq of the poll.create
    deadline: int = Field(sa_type=BigInteger)  # ms since the Unix epoch
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_until: int = Field(default=0, sa_type=BigInteger)  # ms
