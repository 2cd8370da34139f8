"""Event subscribers (:meth:`Engine.on`), each on a thread the engine owns.

A subscriber's thread pulls batches of events from its native subscription (waiting with
the GIL released) and calls the subscriber with each. The core's runtime never calls
Python. When the engine closes, each thread delivers what was published until then and ends.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from cogwork import _native
from cogwork.records import Event

_logger = logging.getLogger("cogwork")

_BATCH = 256
# How long a thread waits for events before looking whether it should stop.
_WAIT = 0.2


class Subscribers:
    """The subscribers of one engine."""

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def add(self, subscription: _native.Subscription, subscriber: Callable[[Event], object]) -> None:
        name = getattr(subscriber, "__qualname__", repr(subscriber))
        thread = threading.Thread(
            target=self._serve, args=(subscription, subscriber), name=f"cogwork-events-{name}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def close(self) -> None:
        """Delivers the events published so far, then ends the threads."""
        self._stopping.set()
        for thread in self._threads:
            thread.join()

    def _serve(self, subscription: _native.Subscription, subscriber: Callable[[Event], object]) -> None:
        while True:
            stopping = self._stopping.is_set()
            batch = subscription.next_batch(_BATCH, 0 if stopping else _WAIT)
            for fields in batch:
                event = Event._from_native(fields)
                try:
                    subscriber(event)
                except Exception:
                    _logger.exception("event subscriber %r failed on %s", subscriber, event.name)
            if stopping and not batch:
                return
