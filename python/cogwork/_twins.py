"""One body for an engine method and its awaitable ``..._async`` twin.

The body checks and converts the arguments and returns a :class:`Call`: the native method
bound to them, and how its result becomes the method's. :func:`blocking` makes the method
that waits for the call (the native module waits with the GIL released); :func:`awaitable`
the twin that runs the same call on the core's runtime and awaits it, without a thread
(:mod:`cogwork._completions`). Written once, the two cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import TYPE_CHECKING, Any, Callable, Coroutine, Generic, TypeVar

from cogwork import _completions

if TYPE_CHECKING:  # in typing from Python 3.10; the package runs on 3.9
    from typing import ParamSpec

    P = ParamSpec("P")

R = TypeVar("R")


@dataclasses.dataclass(frozen=True)
class Call(Generic[R]):
    """A native call bound to its arguments, and what makes its result the method's."""

    start: Callable[..., Any]
    """Waits for the result; given ``completions=``, starts the call and returns at once."""
    convert: Callable[[Any], R]


def blocking(body: Callable[P, Call[R]]) -> Callable[P, R]:
    """The method of the body ``_name``: ``name``, which waits for the call."""

    def method(*args: P.args, **kwargs: P.kwargs) -> R:
        call = body(*args, **kwargs)
        return call.convert(call.start())

    _name(method, body, body.__name__.lstrip("_"), body.__doc__)
    return method


def awaitable(body: Callable[P, Call[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """The twin ``name_async`` of the method of the body ``_name``."""

    async def method(*args: P.args, **kwargs: P.kwargs) -> R:
        call = body(*args, **kwargs)
        return call.convert(await _completions.wait(call.start))

    name = body.__name__.lstrip("_")
    _name(method, body, f"{name}_async", f":meth:`{name}` for asyncio.")
    return method


def _name(method: Any, body: Callable[..., Any], name: str, doc: str | None) -> None:
    """Gives ``method`` its public name and the body's signature, returning what the body's
    Call converts to (``Call[Job]``: ``Job``), for help() and tracebacks."""
    signature = inspect.signature(body)
    returns = str(signature.return_annotation).removeprefix("Call[").removesuffix("]")
    method.__signature__ = signature.replace(return_annotation=returns)
    method.__module__ = body.__module__
    method.__name__ = name
    method.__qualname__ = f"{body.__qualname__.rpartition('.')[0]}.{name}"
    method.__doc__ = doc
