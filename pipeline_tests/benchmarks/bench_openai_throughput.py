"""Throughput of the OpenAI scorer: 1,000 pairs through a loopback OpenAI-compatible server
that takes 200 ms per call, through the real `openai` client. Target: <= 30 s.

    python pipeline_tests/benchmarks/bench_openai_throughput.py

Baseline in the same process: one request at a time on 25 pairs, extrapolated to 1,000."""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import openai

from pipeline.lib.scoring.models import Article, ClientProfile
from pipeline.lib.scoring.openai_scorer import MemoryScoreCache, OpenAIScorer
from pipeline_tests.fakes.http_server import FakeHTTPServer
from pipeline_tests.fakes.openai_server import CHAT_PATH, serve_openai

LATENCY_S = 0.2
ITEMS = 1000
TARGET_S = 30.0
CONCURRENCY = 16  # the resource's default max_concurrency

CLIENT = ClientProfile("c-acme", "t", "Acme Robotics", ("Acme",), "acme.example")


def pairs(n: int, offset: int = 0):
    return [
        (CLIENT, Article(f"a{offset + i}", f"Acme raises ${i + 1} million in funding", "Acme."))
        for i in range(n)
    ]


def run(server: FakeHTTPServer, items, concurrency: int) -> tuple[float, OpenAIScorer]:
    client = openai.OpenAI(api_key="sk-bench", base_url=f"{server.base_url}/v1", max_retries=0)
    scorer = OpenAIScorer(
        client.chat.completions.create,
        cache=MemoryScoreCache(),
        max_concurrency=concurrency,
        max_requests=10_000,
        max_tokens=100_000_000,
    )
    started = time.perf_counter()
    scores = scorer.score_news(items)
    elapsed = time.perf_counter() - started
    assert all(s.scorer == "openai" for s in scores), scorer.stats.messages
    return elapsed, scorer


def main() -> None:
    with FakeHTTPServer() as server:
        serve_openai(server, delay_s=LATENCY_S)
        baseline_n = 25
        baseline_s, _ = run(server, pairs(baseline_n, offset=100_000), concurrency=1)
        baseline_total = baseline_s / baseline_n * ITEMS
        elapsed, scorer = run(server, pairs(ITEMS), concurrency=CONCURRENCY)
        calls = len(server.requests_to(CHAT_PATH)) - baseline_n
    print(f"latency per call: {LATENCY_S * 1000:.0f} ms (loopback server)")
    print(
        f"baseline, 1 at a time: {baseline_n} pairs in {baseline_s:.2f}s"
        f" -> {baseline_total:.1f}s for {ITEMS}"
    )
    print(
        f"{ITEMS} pairs, {CONCURRENCY} concurrent: {elapsed:.2f}s ({ITEMS / elapsed:.0f} pairs/s,"
        f" {calls} calls), speed-up x{baseline_total / elapsed:.1f}"
    )
    print(
        f"tokens {scorer.stats.prompt_tokens}+{scorer.stats.completion_tokens},"
        f" estimated ${scorer.stats.estimated_cost_usd:.4f}"
    )
    print(f"target <= {TARGET_S:.0f}s: {'PASS' if elapsed <= TARGET_S else 'FAIL'}")
    sys.exit(0 if elapsed <= TARGET_S else 1)


if __name__ == "__main__":
    main()
