"""Builds the Q&A service and chains it after the retail extension of the rooms."""

from __future__ import annotations

from cosession.qa.service import QaService
from cosession.qa.store import QaStore
from cosession.rooms.room import Room, RoomExtension
from cosession.services import Services
from cosession.store.store_sql import SqlStore
from protocol.messages import CheckoutRequest, Event


class ChainedExtension:
    """``checkout`` goes to the first extension; every extension sees ``committed``."""

    def __init__(self, first: RoomExtension, *rest: RoomExtension) -> None:
        self.first = first
        self.rest = rest

    def checkout(self, room: Room, by: str, ref: str, body: CheckoutRequest) -> None:
        self.first.checkout(room, by, ref, body)

    def committed(self, room: Room, event: Event) -> None:
        self.first.committed(room, event)
        for extension in self.rest:
            extension.committed(room, event)


def build_qa(services: Services) -> QaService:
    store = services.store
    assert isinstance(store, SqlStore)
    qa = QaService(services.settings, QaStore(store), services.registry)
    if services.registry.extension is not None:
        services.registry.extension = ChainedExtension(services.registry.extension, qa)
    else:  # pragma: no cover - retail is always wired first
        services.registry.extension = qa
    return qa
