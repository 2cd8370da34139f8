"""Types of the native module (bindings-python). Internal: use the ``cogwork`` package."""

import os
from typing import Any, NoReturn, Optional, Sequence, Union

DEFAULT_MEMORY_LIMIT: Optional[int]
MAX_DEPTH: int
ERROR_CLASSES: tuple[str, ...]
"""The exception classes ``cogwork.errors`` defines, one per kind of core error."""

Record = tuple[Any, list[dict[str, str]], int, float]
"""An execution: output, console lines (``level``, ``message``), worker id, seconds."""

def worker_main() -> NoReturn:
    """Serves as a JavaScript worker over fd 3 until the host closes it; never returns."""

class Engine:
    def __init__(
        self,
        tasks: Sequence[Union[str, os.PathLike[str]]],
        *,
        worker_command: Optional[Sequence[str]],
        workers: Optional[int],
        timeout: Optional[float],
        memory_limit: Optional[int],
        recycle_after: Optional[int],
        fetch_allow: Sequence[str],
        watch: bool,
        fetch_max_response_bytes: Optional[int],
        console_max_bytes: Optional[int],
    ) -> None: ...
    def execute(self, task: str, input: Any, *, timeout: Optional[float], mocks: Any) -> Record: ...
    def execute_later(
        self, completions: Completions, task: str, input: Any, *, timeout: Optional[float], mocks: Any
    ) -> Pending:
        """Starts ``execute`` on the core runtime; its outcome comes out of ``completions.drain()``."""
    def close(self) -> None: ...
    @property
    def warnings(self) -> list[str]: ...
    @property
    def tasks(self) -> list[dict[str, str]]: ...

class Completions:
    """Finished calls of one event loop; a byte on ``fileno()`` means ``drain()`` has some."""

    def __init__(self) -> None: ...
    def fileno(self) -> int: ...
    def drain(self) -> list[tuple[int, bool, Any]]:
        """``(id, ok, value)`` per finished call: the record when ``ok``, else the exception."""

class Pending:
    """A call under way."""

    @property
    def id(self) -> int: ...
    def cancel(self) -> None:
        """Stops the call (the core future is dropped), unless it has finished."""
