"""A real Streamlit server and Debian's headless Chromium, for the browser tests and the benchmarks.

One place for how a server is started on a free port of 127.0.0.1 and waited for, and how Chromium is
launched, so the tests and ``make bench`` measure the same thing they test.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def server(
    command: list[str], env: dict[str, str], cwd: Path, log: Path, *, port: int | None = None, wait_s: float = 90
) -> Iterator[str]:
    """A Streamlit server (``command``, e.g. ``python -m parity.serve``) on ``port`` (a free one by default) of
    127.0.0.1 in environment ``env``, waited for until its health check answers; its output in ``log``;
    stopped afterwards. Yields its address, with the path ``--server.baseUrlPath`` gives it when ``command`` has one.
    """
    port = port or free_port()
    prefix = next((command[i + 1] for i, arg in enumerate(command[:-1]) if arg == "--server.baseUrlPath"), "")
    args = [
        *command,
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}" + (f"/{prefix.strip('/')}" if prefix.strip("/") else "")
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Streamlit did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
