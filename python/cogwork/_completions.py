"""Awaiting the core's work from asyncio, without a thread per call.

The work runs as a task on the core's Tokio runtime. When some finishes, the native
``Completions`` of the event loop queues the results (still Rust values) and makes a socket
readable; the loop, watching that socket with ``add_reader``, drains the results on its own
thread and resolves the futures. Runtime threads never touch Python. Cancelling the awaiting
coroutine aborts the Tokio task, which stops the work (a run's worker is killed and replaced).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, Callable

from cogwork import _native


class _Completions:
    """The futures of one event loop's calls under way, by call id."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.native = _native.Completions()
        self.futures: dict[int, asyncio.Future[Any]] = {}
        loop.add_reader(self.native.fileno(), self._drain)

    def _drain(self) -> None:
        for id, ok, value in self.native.drain():
            future = self.futures.pop(id, None)
            if future is None or future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)


# A loop that is garbage-collected takes its Completions (and socket) with it.
_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Completions] = weakref.WeakKeyDictionary()


async def wait(start: Callable[..., Any]) -> Any:
    """Starts a call with ``start`` (a native engine method bound to its arguments, which
    given ``completions`` returns a ``Pending`` instead of waiting) and waits for its
    result; raises what the call raised."""
    loop = asyncio.get_running_loop()
    completions = _by_loop.get(loop)
    if completions is None:
        completions = _by_loop[loop] = _Completions(loop)
    future = loop.create_future()
    pending: _native.Pending = start(completions=completions.native)
    completions.futures[pending.id] = future
    try:
        return await future
    except asyncio.CancelledError:
        pending.cancel()
        completions.futures.pop(pending.id, None)
        raise
