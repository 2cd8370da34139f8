"""cogwork inside an asyncio service: `python examples/asyncio_service.py` (installed package).

The engine is started from the service's event loop, so coroutine handlers run on that loop
(sharing its clients and context) while plain handlers and JavaScript run elsewhere; every
call that waits has an awaitable twin that leaves the loop free.
"""

from __future__ import annotations

import asyncio
import pathlib
import tempfile

import cogwork

HERE = pathlib.Path(__file__).parent


async def main(database: str) -> None:
    with cogwork.Engine(tasks=[HERE / "tasks"], database=database, workers=1) as engine:

        @engine.handler("notify")
        async def notify(job: cogwork.HandlerJob) -> str:
            await asyncio.sleep(0.01)  # an HTTP call through the service's own client, say
            return f"notified {job.input['user']}"

        print("run_async:", await engine.run_async("addition", {"num1": 2, "num2": 3}))
        engine.start()  # from the loop: `notify` runs on it
        try:
            job = await engine.enqueue_async("notify", {"user": "ada"})
            while (job := await engine.job_async(job.id)).state != "completed":
                await asyncio.sleep(0.01)
            print(f"job {job.id}: {job.output}")
        finally:
            engine.stop()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(main(f"sqlite://{directory}/cogwork.db"))
