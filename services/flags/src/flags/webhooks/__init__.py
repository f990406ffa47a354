"""Webhooks following Standard Webhooks 1.0: agencies register endpoints and are told,
signed and at least once, when a flag on one of their journeys is raised or resolved.

The flags service calls `enqueue` in the transaction that records a flag, mounts
`webhooks_router`, and runs a `Dispatcher` beside its outbox relay.
"""

from flags.webhooks.api import webhooks_router
from flags.webhooks.deliveries import enqueue
from flags.webhooks.dispatcher import Dispatcher
from flags.webhooks.settings import WebhookSettings

__all__ = ["Dispatcher", "WebhookSettings", "enqueue", "webhooks_router"]
