"""The package as users get it: the `cogwork` command it installs, offline installs of the
source and of a built abi3 wheel, and its types (mypy --strict, and the typed usage file run
against the installed package)."""

import importlib.metadata
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

import cogwork

ROOT = pathlib.Path(__file__).resolve().parent.parent
# The console script pip put beside this interpreter.
COGWORK = pathlib.Path(sys.executable).parent / "cogwork"
ADDITION = ["run", "addition", "--tasks", str(ROOT / "examples" / "tasks"), "--input", '{"num1": 2, "num2": 3}']
# Offline: pip may not look at an index, and any connection pip or cargo tries goes to a
# closed port instead of the network. The venv's bin on PATH: maturin's build backend runs
# the maturin found there.
OFFLINE = {
    **os.environ,
    "PATH": f"{COGWORK.parent}{os.pathsep}{os.environ['PATH']}",
    "PIP_NO_INDEX": "1",
    "CARGO_NET_OFFLINE": "true",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "HTTP_PROXY": "http://127.0.0.1:9",
}
# The profile the suite's package was built with, so cargo finds the build done.
PROFILE = os.environ.get("COGWORK_PROFILE", "dev")


def run(*command, cwd=ROOT, **options):
    """Runs ``command`` (from the repository root unless told); returns the finished process."""
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600, **options)


def test_mypy_strict_passes_on_the_package_the_examples_and_the_typed_usage_file():
    checked = ["python/cogwork", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples").glob("*.py")), "tests/typed_usage.py"]
    result = run(sys.executable, "-m", "mypy", "--strict", "--cache-dir", "/dev/null", *checked)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found"), result.stdout


def test_the_typed_usage_file_runs_against_the_installed_package():
    result = run(sys.executable, "tests/typed_usage.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "typed usage: ok"


def test_the_cogwork_command_is_the_cores_command_line():
    result = run(COGWORK, *ADDITION)
    assert (result.returncode, json.loads(result.stdout)) == (0, {"sum": 5}), result.stderr
    missing = run(COGWORK, "run", "nope", "--tasks", str(ROOT / "examples" / "tasks"))
    assert missing.returncode == 1 and "error: task `nope` not found; loaded tasks: addition" in missing.stderr
    assert run(COGWORK, "--no-such-option").returncode == 2


def test_ctrl_c_ends_a_command_and_its_workers(tmp_path):
    command = subprocess.Popen([COGWORK, "run", "forever", "--tasks", str(ROOT / "tests" / "fixtures" / "tasks")], stderr=subprocess.PIPE)
    workers = wait_for(lambda: children(command.pid))
    command.send_signal(signal.SIGINT)
    assert command.wait(timeout=10) == -signal.SIGINT
    wait_for(lambda: not any(alive(pid) for pid in workers))


def test_cogwork_work_runs_jobs_and_stops_gracefully_on_ctrl_c(tmp_path):
    database = f"sqlite://{tmp_path / 'jobs.db'}"
    with cogwork.Engine(tasks=[ROOT / "examples" / "tasks"], database=database) as engine:
        job = engine.enqueue("addition", {"num1": 2**40, "num2": 1})
        worker = subprocess.Popen(
            [COGWORK, "work", "--database", database, "--tasks", str(ROOT / "examples" / "tasks")], stderr=subprocess.PIPE, text=True
        )
        try:
            wait_for(lambda: engine.job(job.id).state == "completed")
        finally:
            worker.send_signal(signal.SIGINT)
        assert worker.wait(timeout=30) == 0
        assert engine.job(job.id).output == {"sum": 2**40 + 1}
    assert "stopping: finishing the jobs under way" in worker.stderr.read()


def test_pip_installs_the_source_offline_once_maturin_is_present(tmp_path):
    """As `pip install ./python` does, into a directory of its own (the suite's venv keeps
    the package under test)."""
    install = run(
        sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps", "--target", tmp_path, "./python",
        env={**OFFLINE, "MATURIN_PEP517_ARGS": f"--profile {PROFILE}"},
    )
    assert install.returncode == 0, install.stdout + install.stderr
    check = f"import cogwork; print(cogwork.__file__); {ENGINE_RUN}"
    result = run(sys.executable, "-c", check, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert result.stdout.splitlines() == [str(tmp_path / "cogwork" / "__init__.py"), "{'sum': 5}"], result.stderr


def test_a_built_abi3_wheel_installs_into_a_fresh_venv_offline(tmp_path):
    build = run(sys.executable, "-m", "maturin", "build", "--profile", PROFILE, "--out", tmp_path / "dist", cwd=ROOT / "python", env=OFFLINE)
    assert build.returncode == 0, build.stderr
    [wheel] = (tmp_path / "dist").glob("*.whl")
    assert wheel.name.startswith(f"cogwork-{importlib.metadata.version('cogwork')}-cp39-abi3-")
    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", venv).returncode == 0
    install = run(venv / "bin" / "python", "-m", "pip", "install", wheel, env=OFFLINE)
    assert install.returncode == 0, install.stdout + install.stderr
    assert run(venv / "bin" / "python", "-c", ENGINE_RUN).stdout == "{'sum': 5}\n"
    assert json.loads(run(venv / "bin" / "cogwork", *ADDITION).stdout) == {"sum": 5}


ENGINE_RUN = f"import cogwork; print(cogwork.Engine(tasks=[{str(ROOT / 'examples' / 'tasks')!r}], workers=1).run('addition', {{'num1': 2, 'num2': 3}}))"


def status(pid):
    """The state and parent of process ``pid`` (``("Z", 1)``), or None once it is gone."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def children(pid):
    """The pids of the processes whose parent is ``pid``."""
    return [int(p.name) for p in pathlib.Path("/proc").glob("[0-9]*") if (status(p.name) or ("", 0))[1] == pid]


def alive(pid):
    """Whether process ``pid`` exists and is not a zombie waiting to be reaped."""
    return (status(pid) or ("Z", 0))[0] != "Z"


def wait_for(condition, timeout=30):
    """Polls ``condition`` until it returns something true, which it returns."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"{condition} still false after {timeout} s")
        time.sleep(0.05)
    return value
