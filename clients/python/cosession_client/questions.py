"""``RoomQuestions``: mentions and questions for ``RoomClient`` (SPEC section 16), a mixin
over ``submit``, ``state`` and ``member``.

Ops return the event's seq once applied (the seq of ``ask`` is the question's id). The
view reads the folded state: ``questions`` lists the questions open for this member
first (oldest first), then the others, newest first: what a member coming back sees.
"""

from __future__ import annotations

from collections.abc import Sequence

from protocol.messages import (
    Chat,
    ClientOpBody,
    Product,
    Question,
    QuestionAnswer,
    QuestionAsk,
    QuestionClose,
    RoomState,
)
from protocol.questions import mentions_of, open_questions_for


class RoomQuestions:
    async def submit(self, body: ClientOpBody, *, timeout: float | None = None) -> int:
        raise NotImplementedError

    @property
    def state(self) -> RoomState:
        raise NotImplementedError

    @property
    def member(self) -> str:
        raise NotImplementedError

    # ---- ops --------------------------------------------------------------------------

    async def mention(
        self, members: str | Sequence[str], text: str, *, product: Product | None = None, reply_to: int | None = None
    ) -> int:
        """A chat message that mentions ``members`` (ids of the room's members, each once)."""
        ids = [members] if isinstance(members, str) else list(members)
        return await self.submit(Chat(text=text, product=product, reply_to=reply_to, mentions=ids))

    async def ask(
        self, to: str | Sequence[str], text: str, *, product: Product | None = None, line: int | None = None
    ) -> int:
        """Ask one or more members (ids), optionally about a product or a cart line.
        Returns the question's id."""
        ids = [to] if isinstance(to, str) else list(to)
        return await self.submit(QuestionAsk(to=ids, text=text, product=product, line=line))

    async def answer(self, question: int, text: str) -> int:
        return await self.submit(QuestionAnswer(question=question, text=text))

    async def close_question(self, question: int) -> int:
        """Close a question (the asker or the room's owner), answered or not."""
        return await self.submit(QuestionClose(question=question))

    # ---- view -------------------------------------------------------------------------

    @property
    def open_questions(self) -> list[Question]:
        """Questions to me, not closed, that I have not answered yet: oldest first."""
        return open_questions_for(self.state, self.member)

    @property
    def questions(self) -> list[Question]:
        """Every question the state holds: the ones open for me first (oldest first),
        then the rest (newest first)."""
        mine = self.open_questions
        ids = {q.id for q in mine}
        return [*mine, *reversed([q for q in self.state.questions if q.id not in ids])]

    def question(self, question_id: int) -> Question | None:
        return next((q for q in self.state.questions if q.id == question_id), None)

    @property
    def mentions(self) -> list[int]:
        """Ids of the chat messages (still in the state) that mention me."""
        return mentions_of(self.state, self.member)
