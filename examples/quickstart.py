"""Runs the example tasks from Python: `make python-demo` (against the installed package)."""

import pathlib

import cogwork

TASKS = pathlib.Path(__file__).parent / "tasks"

with cogwork.Engine(tasks=[TASKS], workers=2, timeout=5) as engine:
    print("2 + 3 =", engine.run("addition", {"num1": 2, "num2": 3})["sum"])

    # Whole numbers come back as Python ints, never silently as floats.
    print("big   =", engine.run("addition", {"num1": 2**40, "num2": 1})["sum"])

    try:
        engine.run("addition", {"num1": "two", "num2": 3})
    except cogwork.InvalidInputError as error:
        for violation in error.violations:
            print(f"invalid input at {violation['path']}: {violation['message']}")

    # A task's typed JavaScript error arrives as TaskFailedError; a mock answers its fetch.
    try:
        engine.run("charge", {"amount": 250}, mocks={"url": "https://payments.example.com/charges", "method": "POST", "status": 429})
    except cogwork.TaskFailedError as error:
        print(f"charge failed: {error.js_name}: {error.js_message}")
