"""Recipients' traffic while the pipeline runs (issue 22): 2,000 tracking requests (1,000 pixel
loads, 1,000 clicks) from 20 concurrent clients against a real `pipeline serve` process while
`pipeline demo` runs in another. Checks: the demo succeeds, every request is answered, exactly
2,000 events are counted after the fold-in. Prints requests/s and p99, and the same load
against an idle pipeline (baseline, same process) with the ratio. Target on an idle machine:
>= 500 requests/s, p99 <= 100 ms.

Run: .venv/bin/python pipeline_tests/benchmarks/bench_recipient_events.py"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from pipeline.lib import warehouse
from pipeline.lib.notify import links
from pipeline.lib.notify.recipient_events import RecipientEvents

REQUESTS, CLIENTS, MESSAGES = 2_000, 20, 50
SECRET = "bench-secret-0123456789abcdef0123456789"
PIPELINE = str(Path(sys.executable).parent / "pipeline")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tracking_urls(base: str, tag: str) -> list[str]:
    urls = []
    for n in range(REQUESTS):
        message_id = f"bench-{tag}-{n % MESSAGES}"
        if n % 2:
            urls.append(f"{base}{links.OPEN_PATH}?m={message_id}"
                        f"&s={links.open_signature(SECRET, message_id)}")  # fmt: skip
        else:
            url = "https://example.org/grant"
            query = httpx.QueryParams(
                {"m": message_id, "u": url, "s": links.click_signature(SECRET, message_id, url)}
            )
            urls.append(f"{base}{links.CLICK_PATH}?{query}")
    return urls


async def load(urls: list[str]) -> tuple[float, list[float], list[int]]:
    """Every URL once, CLIENTS at a time; (seconds, latencies, statuses)."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    latencies, statuses = [], []

    async def client():
        async with httpx.AsyncClient(timeout=60, follow_redirects=False) as http:
            while not queue.empty():
                url = queue.get_nowait()
                started = time.perf_counter()
                response = await http.get(url)
                latencies.append(time.perf_counter() - started)
                statuses.append(response.status_code)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return time.perf_counter() - started, latencies, statuses


def report(name: str, seconds: float, latencies: list[float], statuses: list[int]) -> float:
    ordered = sorted(latencies)
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    rate = len(latencies) / seconds
    answered = sum(s in (200, 302) for s in statuses)
    print(f"{name}: {answered}/{len(statuses)} answered, {rate:.0f} requests/s,"
          f" p50 {ordered[len(ordered) // 2] * 1000:.1f} ms, p99 {p99:.1f} ms")  # fmt: skip
    assert answered == REQUESTS, "not every request was answered"
    return rate


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        env = {
            **os.environ,
            "PIPELINE_DATA_DIR": str(data),
            "PIPELINE_WAREHOUSE": str(data / "warehouse.duckdb"),
            "PIPELINE_LANDING": str(data / "landing"),
            "PIPELINE_OUTBOX": str(data / "outbox"),
            "DAGSTER_HOME": str(Path(tmp) / "home"),
            "PIPELINE_UNSUBSCRIBE_SECRET": SECRET,
        }
        for name in ("PIPELINE_EVENTS_URL", "DAGSTER_PG_URL"):
            env.pop(name, None)
        (Path(tmp) / "home").mkdir()
        data.mkdir()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [PIPELINE, "serve", "--port", str(port)], env={**env, "PIPELINE_PUBLIC_URL": base},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(base + "/", timeout=1)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            idle = report("idle pipeline", *asyncio.run(load(tracking_urls(base, "idle"))))
            demo = subprocess.Popen([PIPELINE, "demo"], env=env, stdout=subprocess.DEVNULL)
            # Start the load once the demo writes the warehouse (its first run has begun).
            deadline = time.monotonic() + 600
            while not (data / "warehouse.duckdb").exists() and time.monotonic() < deadline:
                time.sleep(0.2)
            busy = report("during pipeline demo", *asyncio.run(load(tracking_urls(base, "demo"))))
            demo_still_running = demo.poll() is None
            assert demo.wait(timeout=900) == 0, "pipeline demo failed"
            print(f"demo succeeded (was still running when the load ended: {demo_still_running});"
                  f" throughput during the demo / idle: {busy / idle:.2f}")  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=30)
        os.environ.update({k: env[k] for k in ("PIPELINE_DATA_DIR", "PIPELINE_WAREHOUSE")})
        from pipeline.lib.notify.event_fold import fold_events
        from pipeline.lib.settings import recipient_events_location, settings

        store = RecipientEvents(recipient_events_location())
        fold_events(data / "warehouse.duckdb", store, settings().config_dir)
        store.close()
        with warehouse.connection(data / "warehouse.duckdb") as conn:
            counted = conn.execute(
                "SELECT count(*) FROM raw.recipient_events WHERE message_id LIKE 'bench-demo-%'"
            ).fetchall()[0][0]
        print(f"events counted after the fold-in: {counted} of {REQUESTS}")
        assert counted == REQUESTS


if __name__ == "__main__":
    main()
