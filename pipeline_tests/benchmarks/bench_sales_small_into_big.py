"""Benchmark: does a small file cost the same whatever the warehouse already holds? `pipeline
ingest --wait` of a 1,000-row file (a new datasource each round) into a deployment whose
warehouse holds --rows generated lines, against the same ingest into a deployment that holds
one line. Both deployments are made once (instance and warehouse exist, as in production) and
the rounds alternate. Prints both medians and the ratio: 1.0x means the file's cost follows
the file; above that is what the warehouse's size adds (whole-table analytics and checks).

    .venv/bin/python pipeline_tests/benchmarks/bench_sales_small_into_big.py [--rows N] [--repeat N]

With --compare DIR, another checkout's ingest runs the same rounds on deployments of its own.
Figures: docs/sales-benchmark.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sales_ingest import REPO, generate, measure

SMALL_ROWS = 1000


def small_file(path: Path, seed: int) -> Path:
    """A 1,000-line file with the big file's columns, different in every round."""
    path.write_text(
        "Invoice ID,Date,Branch,Product line,Unit price,Quantity,Unit cost,Customer\n"
        + "".join(
            f"S{seed}-{i // 3},2025-0{1 + i % 9}-1{i % 10},Branch {i % 3},Line {i % 5},"
            f"{1 + (i * 37 % 997) / 10:.2f},{1 + i % 7},{(1 + (i * 37 % 997) / 10) * 0.6:.2f},c{i}\n"
            for i in range(SMALL_ROWS)
        )
    )
    return path


class Deployment:
    """A data dir and a Dagster home of one checkout, reused across rounds."""

    def __init__(self, root: Path, repo: Path):
        self.repo = repo
        root.mkdir(parents=True)
        (root / "home").mkdir()
        data = root / "data"
        self.env = {
            **os.environ,
            "PIPELINE_DATA_DIR": str(data),
            "PIPELINE_WAREHOUSE": str(data / "warehouse.duckdb"),
            "PIPELINE_LANDING": str(data / "landing"),
            "DAGSTER_HOME": str(root / "home"),
        }

    def ingest(self, csv: Path, datasource: str) -> dict:
        command = [sys.executable, "-m", "pipeline", "ingest", str(csv), "--datasource", datasource]
        done = measure([*command, "--wait"], self.env, self.repo)
        assert done["rc"] == 0, done["stdout"] + done["stderr"]
        return done


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=6_000_000, help="lines in the big warehouse")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compare", type=Path, help="another checkout, measured alike")
    parser.add_argument("--csv", type=Path, help="reuse this generated big file")
    args = parser.parse_args()
    repos = {"now": REPO, **({args.compare.name: args.compare} if args.compare else {})}
    with tempfile.TemporaryDirectory(prefix="bench-small-big-") as tmp:
        tmp_path = Path(tmp)
        big = args.csv or tmp_path / "big.csv"
        if not big.exists():
            generate(big, args.rows)
        one_line = tmp_path / "one.csv"
        one_line.write_text(big.open().readline() + "W-1,2024-01-01,Quay,Garden,2.50,1,1.50,c\n")
        deployments = {}
        for label, repo in repos.items():
            deployments[label, "big"] = Deployment(tmp_path / label / "big", repo)
            deployments[label, "big"].ingest(big, "big")
            deployments[label, "small"] = Deployment(tmp_path / label / "small", repo)
            deployments[label, "small"].ingest(one_line, "warmup")
        seconds: dict[tuple[str, str], list[float]] = {key: [] for key in deployments}
        for round_ in range(args.repeat):
            csv = small_file(tmp_path / f"small{round_}.csv", round_)
            for key, deployment in deployments.items():
                seconds[key].append(deployment.ingest(csv, f"shop{round_}")["seconds"])
            shown = ", ".join(f"{a} into {b} {s[-1]:.1f}s" for (a, b), s in seconds.items())
            print(f"  round {round_ + 1}: {shown} (load {os.getloadavg()[0]:.2f})", flush=True)
    for label in repos:
        into_big = statistics.median(seconds[label, "big"])
        into_small = statistics.median(seconds[label, "small"])
        print(
            f"{label}: {SMALL_ROWS:,}-row file into {args.rows:,} lines {into_big:.1f}s,"
            f" into 1 line {into_small:.1f}s: {into_big / into_small:.2f}x (medians)"
        )


if __name__ == "__main__":
    main()
