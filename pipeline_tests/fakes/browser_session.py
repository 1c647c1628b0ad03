"""Headless Chromium driven over the DevTools protocol (a websocket, no driver library): open a
page, fill and submit its forms like a person, read what it shows and the HTTP status of the
document. For tests of pages a person uses (browser.py only dumps a page's DOM)."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from websockets.sync.client import connect

from pipeline_tests.fakes.browser import chromium_path


class BrowserSession:
    def __init__(self, timeout_s: float = 30.0) -> None:
        self.timeout_s = timeout_s
        self._ids = itertools.count(1)
        self._events: list[dict] = []
        self.status: int | None = None  # HTTP status of the last document loaded

    def __enter__(self) -> BrowserSession:
        browser = chromium_path()
        if browser is None:
            raise RuntimeError("no chromium on this machine")
        # Chromium's helper processes may still be writing the profile as the browser exits.
        self._profile = tempfile.TemporaryDirectory(
            prefix="chromium-session-", ignore_cleanup_errors=True
        )
        self._process = subprocess.Popen(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--remote-debugging-port=0",
                f"--user-data-dir={self._profile.name}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so __exit__ stops every helper
        )
        active = Path(self._profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout_s
        while not (active.exists() and len(active.read_text().splitlines()) >= 2):
            if time.monotonic() > deadline or self._process.poll() is not None:
                self.__exit__(None, None, None)
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.05)
        port = active.read_text().splitlines()[0]
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        page = next(t for t in targets if t["type"] == "page")
        self._socket = connect(page["webSocketDebuggerUrl"], max_size=None)
        self.call("Page.enable")
        self.call("Network.enable")
        return self

    def __exit__(self, *exc) -> None:
        socket = getattr(self, "_socket", None)
        if socket is not None:
            socket.close()
        self._signal_group(signal.SIGTERM)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self._process.wait()
        self._profile.cleanup()

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # every process of it has exited
            os.killpg(self._process.pid, signum)

    # --- protocol ------------------------------------------------------------------------

    def _receive(self, deadline: float) -> dict:
        message = json.loads(self._socket.recv(timeout=max(0.01, deadline - time.monotonic())))
        if message.get("method") == "Network.responseReceived":
            params = message["params"]
            if params.get("type") == "Document":
                self.status = params["response"]["status"]
        return message

    def call(self, method: str, **params) -> dict:
        request_id = next(self._ids)
        self._socket.send(json.dumps({"id": request_id, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout_s
        while True:
            message = self._receive(deadline)
            if message.get("id") == request_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._events.append(message)

    def _wait_for_load(self) -> None:
        deadline = time.monotonic() + self.timeout_s
        while True:
            for index, event in enumerate(self._events):
                if event.get("method") == "Page.loadEventFired":
                    del self._events[: index + 1]
                    return
            self._events.append(self._receive(deadline))

    # --- what a person does --------------------------------------------------------------

    def open(self, url: str) -> None:
        self._events.clear()
        self.call("Page.navigate", url=url)
        self._wait_for_load()

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def text(self) -> str:
        return self.evaluate("document.body.innerText")

    def fill(self, selector: str, value: str) -> None:
        self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            f" e.value = {json.dumps(value)}; e.dispatchEvent(new Event('change')); }})()"
        )

    def click(self, selector: str) -> None:
        """Click an element that loads a new document (a submit button, a link)."""
        self._events.clear()
        self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")
        self._wait_for_load()
