"""Jobs and a workflow from Python: `python examples/jobs_and_workflows.py` (installed package).

Python handlers and JavaScript tasks share one durable queue in a SQLite file; a workflow's
steps are jobs, so a run survives a crash of this process and resumes where it stopped.
"""

from __future__ import annotations

import pathlib
import tempfile

import cogwork

HERE = pathlib.Path(__file__).parent


def main(database: str) -> None:
    with cogwork.Engine(tasks=[HERE / "tasks"], database=database, workers=1) as engine:

        @engine.handler("square")
        def square(step: cogwork.Step) -> int:
            parent: int = next(iter(step.results.values()), step.context["number"])
            return parent**2

        @engine.on("job.completed")
        def completed(event: cogwork.Event) -> None:
            print(f"  {event.name}: job {event.job_id} ({event.target})")

        job: cogwork.Job = engine.enqueue("addition", {"num1": 2, "num2": 3})
        engine.drain()
        job = engine.job(job.id)
        print(f"job {job.id}: {job.state}, output {job.output}, {len(job.attempts)} attempt(s)")

        engine.define_workflow(
            {
                "namespace": "example",
                "name": "squares",
                "version": "1.0.0",
                "steps": [
                    {"name": "first", "handler": "square"},
                    {"name": "second", "handler": "square", "depends_on": ["first"]},
                    {"name": "third", "handler": "square", "depends_on": ["second"]},
                ],
            }
        )
        run: cogwork.WorkflowRun = engine.start_workflow("example/squares", {"number": 2**8})
        engine.drain()
        run = engine.wait_workflow(run.id, timeout=30)
        # Integers of any size stay exact: (2**8)**8 is 2**64.
        print(f"run {run.id}: {run.state}, third = {run.step('third').result} (2**64 = {2**64})")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as directory:
        main(f"sqlite://{directory}/cogwork.db")
