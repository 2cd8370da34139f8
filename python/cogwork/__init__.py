"""cogwork: a durable job and workflow orchestrator with a Rust core.

>>> import cogwork
>>> with cogwork.Engine(tasks=["examples/tasks"]) as engine:
...     engine.run("addition", {"num1": 2, "num2": 3})
{'sum': 5}
"""

from cogwork import errors
from cogwork.engine import Engine, Execution
from cogwork.errors import *  # noqa: F403 - the exceptions and warning, as errors.__all__ lists them
from cogwork.errors import TimeoutError  # noqa: A004 - an alias, deliberately not in __all__

__all__ = ["Engine", "Execution"]
__all__ += errors.__all__
