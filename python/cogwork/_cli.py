"""The ``cogwork`` console script: the core's command line (``cogwork run``, ``test``,
``work``, ``workflow``...), with this package's JavaScript workers."""

from __future__ import annotations

import signal
import sys
from typing import NoReturn

from cogwork import _native
from cogwork.engine import _WORKER_COMMAND


def main() -> NoReturn:
    """Runs the command line on ``sys.argv`` and exits with its status."""
    # Signals as the native binary has them: Ctrl-C ends a command (`cogwork work` catches it
    # to stop gracefully) instead of waiting for Python to raise KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.exit(_native.cli(sys.argv, _WORKER_COMMAND))
