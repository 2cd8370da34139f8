"""cogwork: a durable job and workflow orchestrator with a Rust core.

>>> import cogwork
>>> with cogwork.Engine(tasks=["examples/tasks"]) as engine:
...     engine.run("addition", {"num1": 2, "num2": 3})
{'sum': 5}
"""

from cogwork import errors
from cogwork._handlers import HandlerJob, Step
from cogwork.engine import Engine, Execution
from cogwork.records import Attempt, Event, Job, Schedule, StepRun, Transition, WorkflowRun
from cogwork.errors import *  # noqa: F403 - the exceptions and warning, as errors.__all__ lists them
from cogwork.errors import TimeoutError  # noqa: A004 - an alias, deliberately not in __all__

__all__ = ["Attempt", "Engine", "Event", "Execution", "HandlerJob", "Job", "Schedule", "Step", "StepRun", "Transition", "WorkflowRun"]
__all__ += errors.__all__
