"""`django://`: a kombu virtual transport on the Django ORM's database (DESIGN.md, "Broker ...").

Messages are leased, not taken; ack deletes; a dead worker's leases run out and its messages
are delivered again. See transport.py for the mechanics and README.md for the trade-offs.
"""

TRANSPORT_PATH = "core.broker.transport:Transport"


def register_transport() -> None:
    """Make the broker URL `django://` resolve to our transport in this process."""
    from kombu.transport import TRANSPORT_ALIASES

    TRANSPORT_ALIASES.setdefault("django", TRANSPORT_PATH)
