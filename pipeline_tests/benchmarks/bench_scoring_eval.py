"""Precision, recall, F1, average precision and category accuracy of the scorers on the
labelled evaluation sets (pipeline_tests/scoring/evaluation.py says what each set is).

    python pipeline_tests/benchmarks/bench_scoring_eval.py [--threshold 0.6] [--profiles]

- blind sets (labels_blind.jsonl + labels_second.jsonl), HELD-OUT part: the figures the targets
  are measured on (issue 26, at --threshold 0.5: grants F1 >= 0.9, news F1 >= 0.85, category
  accuracy >= 0.85, recall > 0 for every profile with relevant items).
- blind sets, tuning part: what the scorer may be tuned on.
- category cases (labels_categories.jsonl): tuning-side items with a reader's category; their
  category accuracy is the figure that matters there.
- original set: a regression check only (labelled while looking at the scorer's output).

The threshold defaults to 0.6, the users' default in data/config/users.yaml.

The OpenAI scorer runs as the pipeline runs it: with OPENAI_API_KEY set, against the real (or
OPENAI_BASE_URL) API; without, against the loopback fake server, whose answers are fixed, so
only its prefilter figure means anything there: the share of relevant pairs the local prefilter
sends to the model at all (a relevant pair it drops can never be found by the model).
Without ../shared/realdata every set is skipped with the reason (their items live there)."""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pipeline.lib.scoring.local import LocalScorer
from pipeline_tests.conftest import REALDATA
from pipeline_tests.scoring.evaluation import (
    BLIND_LABELS,
    CATEGORY_CASES,
    LABELS,
    SECOND_LABELS,
    Report,
    load_labels,
    reports,
    score_pairs,
)


def _line(name: str, r: Report) -> str:
    m = r.metrics
    accuracy = f"{r.category_accuracy:5.2f}" if r.category_accuracy is not None else "    -"
    return (
        f"  {name:<20} {m.precision:5.2f} {m.recall:5.2f} {m.f1:5.2f} {r.average_precision:5.2f}"
        f" {accuracy}  {m.tp:3d} {m.fp:3d} {m.fn:3d} {m.tn:4d}"
    )


def print_reports(title: str, scored, threshold: float, per_profile: bool) -> None:
    by_kind, by_profile = reports(scored, threshold)
    print(f"\n{title}")
    print(f"  {'':<20} {'P':>5} {'R':>5} {'F1':>5} {'AP':>5} {'cat':>5}   tp  fp  fn   tn")
    for kind in ("grant", "news", "all"):
        print(_line(kind, by_kind[kind]))
    if per_profile:
        for subject, report in by_profile.items():
            print(_line(subject, report))


def evaluate_scorer(
    name: str, scorer, threshold: float, per_profile: bool, parts: str = "all"
) -> None:
    started = time.perf_counter()
    blind = load_labels(BLIND_LABELS) + load_labels(SECOND_LABELS)
    held_out = [p for p in blind if p.held_out]
    tuning = [p for p in blind if not p.held_out]
    original = load_labels(LABELS)
    sets = [
        ("blind sets, HELD-OUT part", held_out, per_profile),
        ("blind sets, tuning part", tuning, per_profile),
        ("category cases (tuning)", load_labels(CATEGORY_CASES), False),
        ("original set (regression only)", original, False),
    ]
    # While tuning, `--part tuning` keeps the held-out figures out of sight.
    for part, labels, show in sets[1:] if parts == "tuning" else sets:
        set_started = time.perf_counter()
        scored = score_pairs(scorer, labels, REALDATA)
        per_pair = (time.perf_counter() - set_started) / max(1, len(labels)) * 1000
        positives = sum(p.label for p in labels)
        print_reports(
            f"{name} - {part}: {len(labels)} pairs, {positives} relevant, threshold {threshold}"
            f" ({per_pair:.1f} ms per pair, loading included)",
            scored,
            threshold,
            show,
        )
    print(f"  ({time.perf_counter() - started:.2f}s)")


def prefilter_recall(scorer) -> None:
    """Of the relevant held-out pairs, how many the local prefilter hands to the model."""
    held_out = [p for p in load_labels(BLIND_LABELS) if p.held_out]
    local = score_pairs(LocalScorer(), held_out, REALDATA)
    threshold = scorer.prefilter_threshold
    for kind in ("grant", "news"):
        relevant = [s for s in local if s.pair.kind == kind and s.pair.label]
        sent = sum(s.score >= threshold for s in relevant)
        print(f"  prefilter {kind}: {sent}/{len(relevant)} relevant held-out pairs reach the model")


def run_openai(threshold: float, per_profile: bool) -> None:
    import openai

    from pipeline.lib.scoring.openai_scorer import DEFAULT_MODEL, OpenAIScorer

    model = os.environ.get("PIPELINE_AI_MODEL") or DEFAULT_MODEL
    if os.environ.get("OPENAI_API_KEY"):
        client = openai.OpenAI(max_retries=0)
        scorer = OpenAIScorer(client.chat.completions.create, model=model)
        evaluate_scorer(f"openai scorer ({model})", scorer, threshold, per_profile)
        prefilter_recall(scorer)
        return
    from pipeline_tests.fakes.http_server import FakeHTTPServer
    from pipeline_tests.fakes.openai_server import serve_openai

    with FakeHTTPServer() as server:
        client = openai.OpenAI(api_key="fake", base_url=serve_openai(server), max_retries=0)
        scorer = OpenAIScorer(client.chat.completions.create, model=model)
        print("\nopenai scorer through the loopback fake (fixed answers: prefilter only)")
        prefilter_recall(scorer)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threshold", type=float, default=0.6)
    parser.add_argument("--profiles", action="store_true", help="figures per profile too")
    parser.add_argument(
        "--part", choices=["all", "tuning"], default="all", help="tuning: hide the held-out part"
    )
    args = parser.parse_args()
    if not REALDATA.is_dir():
        print(f"skipped: real-data files not found at {REALDATA} (the labelled items live there)")
        return
    evaluate_scorer(
        f"local scorer ({LocalScorer.model})",
        LocalScorer(),
        args.threshold,
        args.profiles,
        args.part,
    )
    if args.part == "all":
        run_openai(args.threshold, args.profiles)


if __name__ == "__main__":
    main()
