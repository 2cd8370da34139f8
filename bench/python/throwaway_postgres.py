"""A throwaway PostgreSQL server for the benchmark, set up as the Rust tests and benchmarks
set theirs up (core/tests/support/postgres.rs): initdb into a temporary directory, started
on a free port as an unprivileged user (PostgreSQL refuses to run as root), with the same
settings, and gone when the context exits. Debian's `postgresql` package provides it."""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import Iterator

NOBODY = (65534, 65534)
# A throwaway server: durability of the server itself is not under test (as in the Rust suite).
SETTINGS = ["listen_addresses=127.0.0.1", "fsync=off", "full_page_writes=off", "synchronous_commit=off", "max_connections=200"]


def _binaries() -> pathlib.Path:
    """The newest installed server's binaries (/usr/lib/postgresql/<version>/bin)."""
    versions = sorted(pathlib.Path("/usr/lib/postgresql").iterdir(), key=lambda p: int(p.name) if p.name.isdigit() else 0)
    if not versions:
        raise SystemExit("no PostgreSQL server: install Debian's postgresql package (scripts/setup.sh does)")
    return versions[-1] / "bin"


# Who the server runs as: nobody when this process is root, else this user.
USER, GROUP = NOBODY if os.getuid() == 0 else (None, None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def new_database(server_url: str) -> str:
    """Creates a database of this process's on the server at ``server_url``; returns its URL."""
    name = f"bench_{os.getpid()}"
    host, port = server_url.rsplit("@", 1)[1].split("/")[0].split(":")
    subprocess.run([_binaries() / "createdb", "-h", host, "-p", port, "-U", "postgres", name], check=True)
    return f"postgres://postgres@{host}:{port}/{name}"


@contextlib.contextmanager
def server() -> Iterator[str]:
    """Starts a server and yields the URL of its `postgres` database; stops it on exit."""
    bin, directory = _binaries(), pathlib.Path(tempfile.mkdtemp(prefix="cogwork-bench-postgres-"))
    if os.getuid() == 0:
        os.chown(directory, *NOBODY)
    data, port = directory / "data", _free_port()
    subprocess.run(
        [bin / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"],
        check=True, stdout=subprocess.DEVNULL, user=USER, group=GROUP,
    )
    settings = [arg for setting in SETTINGS for arg in ("-c", setting)]
    process = subprocess.Popen(
        [bin / "postgres", "-D", data, "-p", str(port), "-k", directory, *settings],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, user=USER, group=GROUP,
    )
    try:
        deadline = time.monotonic() + 30
        while subprocess.run([bin / "pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)]).returncode != 0:
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"the throwaway PostgreSQL server did not start on port {port}")
            time.sleep(0.05)
        yield f"postgres://postgres@127.0.0.1:{port}/postgres"
    finally:
        process.send_signal(signal.SIGQUIT)  # immediate shutdown, passed on to its children
        process.wait(timeout=30)
        shutil.rmtree(directory, ignore_errors=True)
