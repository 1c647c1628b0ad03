"""`pipeline serve`'s app under a real uvicorn server on a free loopback port: in a thread
(`running_app`), or as the real command in its own process (`serve_process`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from pipeline.web.app import WebSettings, create_app
from pipeline_tests.fakes.ports import reserved_port


@contextmanager
def running_app(config: WebSettings) -> Iterator[str]:
    """Serve the app; yields its base URL."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), access_log=False, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def serve_process(log_path: Path, port: int | None = None) -> Iterator[str]:
    """`python -m pipeline serve` on a free port with this process's environment, its output
    in `log_path`; yields its base URL once it answers."""
    port = port or reserved_port()
    base_url = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "serve", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ),
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(base_url + "/", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log_path.read_text())
                time.sleep(0.2)
            yield base_url
        finally:
            process.terminate()
            process.wait(timeout=20)
