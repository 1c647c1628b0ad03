"""Benchmark: the two phases of a sales ingest that touch every line, staging (`stage_file`)
and the load into a fresh warehouse (`load_stage`), for this checkout and optionally another
one, alternating, each in its own process. Prints CPU seconds (DuckDB's threads included) and
wall seconds per phase, which vary far less than whole `pipeline ingest --wait` runs on a
shared machine.

    .venv/bin/python pipeline_tests/benchmarks/bench_sales_stage_load.py CSV [--compare DIR]
        [--repeat N]

CSV: e.g. one written by bench_sales_ingest.py --csv. Figures: docs/sales-benchmark.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PHASES = """
import resource, shutil, sys, tempfile, time
from pathlib import Path
from pipeline.lib import warehouse
from pipeline.lib.sales import loading, staging

def clock():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, time.perf_counter()

csv = Path(sys.argv[1])
work = Path(tempfile.mkdtemp(prefix="bench-stage-load-"))
try:
    cpu0, wall0 = clock()
    stage = staging.stage_file(csv, name=csv.name, datasource="bench", spec=None, work_dir=work)
    cpu1, wall1 = clock()
    ident = loading.FileIdentity("0" * 64, "bench", csv.name, False)
    with warehouse.connection(work / "warehouse.duckdb") as conn:
        cpu2, wall2 = clock()
        counts = loading.load_stage(conn, stage.scratch, ident, load_rows=True)
        cpu3, wall3 = clock()
    print(f"stage cpu {cpu1 - cpu0:6.2f}s wall {wall1 - wall0:6.2f}s | load cpu"
          f" {cpu3 - cpu2:6.2f}s wall {wall3 - wall2:6.2f}s | {counts['rows_loaded']:,} lines")
finally:
    shutil.rmtree(work)
"""


def run(repo: Path, csv: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PHASES, str(csv)],
        capture_output=True,
        text=True,
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    if done.returncode:
        raise SystemExit(f"{repo.name} failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1]  # after any DuckDB progress bars


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("csv", type=Path)
    parser.add_argument("--compare", type=Path, help="another checkout, measured alternately")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    for _ in range(args.repeat):
        for repo in (args.compare, REPO):
            if repo is not None:
                print(f"{repo.name:>12}: {run(repo, args.csv)}", flush=True)


if __name__ == "__main__":
    main()
