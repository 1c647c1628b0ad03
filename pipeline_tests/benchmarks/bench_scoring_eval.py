"""Precision, recall and F1 of the scorers on the labelled evaluation set
(pipeline_tests/fixtures/scoring/labels.jsonl).

    python pipeline_tests/benchmarks/bench_scoring_eval.py

The local scorer always runs. With OPENAI_API_KEY set (and optionally OPENAI_BASE_URL,
PIPELINE_AI_MODEL) the OpenAI scorer runs too, exactly as the pipeline uses it: the lexical
prefilter decides which pairs get a call; the rest keep their local score."""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pipeline.lib.scoring.local import LocalScorer
from pipeline_tests.conftest import REALDATA
from pipeline_tests.scoring.evaluation import evaluate, load_labels


def report(name: str, scorer, threshold: float = 0.5) -> None:
    started = time.perf_counter()
    results = evaluate(scorer, REALDATA, threshold)
    elapsed = time.perf_counter() - started
    print(f"\n{name} (threshold {threshold}, {elapsed:.2f}s)")
    print(f"  {'kind':<6} {'P':>6} {'R':>6} {'F1':>6}   tp  fp  fn   tn")
    for kind, m in results.items():
        print(
            f"  {kind:<6} {m.precision:6.3f} {m.recall:6.3f} {m.f1:6.3f}"
            f"  {m.tp:3d} {m.fp:3d} {m.fn:3d} {m.tn:4d}"
        )
    stats = getattr(scorer, "stats", None)
    if stats is not None and stats.configured_scorer == "openai":
        print(
            f"  last batch: {stats.api_calls} calls, {stats.prompt_tokens}+"
            f"{stats.completion_tokens} tokens, ~${stats.estimated_cost_usd:.4f}"
        )


def main() -> None:
    if not REALDATA.is_dir():
        sys.exit(f"real-data files not found at {REALDATA}")
    labels = load_labels()
    positives = sum(p.label for p in labels)
    print(f"evaluation set: {len(labels)} labelled pairs, {positives} relevant")
    report("local scorer (bm25-rules-v1)", LocalScorer())
    if os.environ.get("OPENAI_API_KEY"):
        import openai

        from pipeline.lib.scoring.openai_scorer import DEFAULT_MODEL, OpenAIScorer

        client = openai.OpenAI(max_retries=0)
        model = os.environ.get("PIPELINE_AI_MODEL") or DEFAULT_MODEL
        report(
            f"openai scorer ({model})", OpenAIScorer(client.chat.completions.create, model=model)
        )
    else:
        print("\nopenai scorer: skipped (OPENAI_API_KEY not set)")


if __name__ == "__main__":
    main()
