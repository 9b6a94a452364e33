"""cosession's async Python client: join a shopping room and follow it live.

``RoomClient`` keeps the room state folded from the server's event log (with the shared
``protocol`` reducer), sends typed ops and awaits their acks, and reconnects with resume
on its own. ``cosession_client.cli`` is the small terminal front end
(``cosession-client join|watch``). Imports ``protocol`` only, never the server.

    async with RoomClient.connect("http://host:8080/r/CODE", name="Ann") as room:
        seq = await room.add_to_cart(Product(id="p1", name="Socks", price=499, currency="EUR"))
        async for msg in room.events():
            ...
"""

from cosession_client.client import VERSION, Disconnected, Incoming, Resynced, RoomClient, Subscription
from cosession_client.errors import (
    ApiError,
    ClientError,
    ConnectionClosedFinal,
    EventsOverflow,
    OpRejected,
    TooManyPending,
)
from cosession_client.observer import ClientObserver, Observer
from cosession_client.settings import ClientSettings

__version__ = VERSION

__all__ = [
    "ApiError",
    "ClientError",
    "ClientObserver",
    "ClientSettings",
    "ConnectionClosedFinal",
    "Disconnected",
    "EventsOverflow",
    "Incoming",
    "Observer",
    "OpRejected",
    "Resynced",
    "RoomClient",
    "Subscription",
    "TooManyPending",
    "__version__",
]
