"""cogwork: a durable job and workflow orchestrator with a Rust core.

>>> import cogwork
>>> with cogwork.Engine(tasks=["examples/tasks"]) as engine:
...     engine.run("addition", {"num1": 2, "num2": 3})
{'sum': 5}
"""

from cogwork import errors
from cogwork.engine import Engine
from cogwork.errors import *  # noqa: F403 - the exceptions and warning, as errors.__all__ lists them

__all__ = ["Engine"]
__all__ += errors.__all__
