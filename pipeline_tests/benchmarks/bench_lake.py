"""Benchmark: the DuckLake backend against the embedded DuckDB file, in one run.

A. `pipeline ingest --wait` of one generated sales CSV (default 6,000,000 rows, ~400 MB) into a
   DuckDB file, then into a DuckLake (catalog in a fresh PostgreSQL database on 127.0.0.1, data
   files in a local folder); both in child processes, alternating with --repeat.
B. 4 generated files (default 1,000,000 rows each) into one DuckLake: one after another by one
   process, vs. two worker processes ingesting two files each at the same time.
C. `pipeline demo` on a fresh DuckDB file vs a fresh DuckLake (PostgreSQL catalog, folder data).
D. `pipeline ingest --wait` of the real 1,000-row supermarket_sales.csv (../shared/realdata),
   file vs lake.
C and D alternate the two sides --repeat times and print each side's median and the ratio.

    .venv/bin/python pipeline_tests/benchmarks/bench_lake.py [--parts demo,small,big,parallel]
        [--rows N] [--files-rows N] [--repeat N] [--code DIR]

`--code DIR` runs the children on another checkout of the project (e.g. `git archive` of an
earlier commit unpacked into DIR), to measure before and after with the same script.

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust). Measured on the shared 2-core VM,
two sessions:

    --rows 2000000 --files-rows 250000 (load ~8):  A. file 59.0s, lake 60.6s (1.03x)
        B. one after another 115.8s, 2 workers at once 134.9s (no spare core)
    --rows 6000000 --files-rows 250000 (load ~15): A. file 133.6s, lake 190.0s (1.42x)
        B. one after another 273.0s, 2 workers at once 147.2s (1.85x faster)

C/D with --repeat 3 (before/after the one-interface work, load 9-30; per-round lake/file):
demo before 4.06x 4.41x 0.59x, after 1.48x 0.40x 1.05x; real 1,000-row ingest before 1.79x
1.30x 2.02x, after 1.19x 1.03x 1.37x. 2026-12-07, quiet machine (load 1.0-3.4), --parts
demo,small --repeat 3, medians: demo file 31.2 s, lake 40.8 s (1.31x); real 1,000-row ingest
file 10.1 s, lake 13.1 s (1.30x); both within the 1.5x target.
Third session of 2026-12-07 (quiet, load 0.8-1.7), --repeat 2 after the migrations went into one
transaction: demo file 21.6 s, lake 26.0 s (1.20x); real 1,000-row ingest file 6.0 s, lake 8.1 s
(1.35x).

Discussion in docs/operations.md, "Scaling out".
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sales_ingest import MEASURE, REPO, generate, measure


def _database() -> str:
    import psycopg2

    name = f"bench_lake_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return name


def _drop(name: str) -> None:
    import psycopg2

    admin = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def _env(base: dict, tmp: Path, warehouse: str, lake_data: str | None = None) -> dict:
    home = tmp / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **base,
        "PIPELINE_DATA_DIR": str(tmp / "data"),
        "PIPELINE_WAREHOUSE": warehouse,
        "PIPELINE_LANDING": str(tmp / "data" / "landing"),
        "DAGSTER_HOME": str(home),
    }
    if lake_data:
        env["PIPELINE_LAKE_DATA"] = lake_data
    return env


def _ingest(csvs: list[Path], env: dict, datasource: str) -> dict:
    """One worker: `pipeline ingest --wait` of each file in turn, in one measured child."""
    commands = " && ".join(
        f"{sys.executable} -m pipeline ingest {csv} --datasource {datasource} --wait"
        for csv in csvs
    )
    result = measure(["sh", "-c", commands], env)
    assert result["rc"] == 0, result["stdout"] + result["stderr"]
    return result


REAL_CSV = REPO.parent / "shared" / "realdata" / "supermarket_sales.csv"


def _fresh_lake(tmp: Path, base: dict) -> tuple[str, dict]:
    database = _database()
    url = f"ducklake:postgres:dbname={database} host=127.0.0.1 user=postgres"
    return database, _env(base, tmp, url, str(tmp / "lake_data"))


def _measure_in(code: Path, command: list[str], env: dict) -> dict:
    """`measure`, run from `code` (`python -m` imports the package of its working directory)."""
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *command],
        capture_output=True,
        text=True,
        env=env,
        cwd=code,
        check=True,
    )
    return json.loads(out.stdout)


def _alternate(label: str, command: list[str], base: dict, tmp: Path, repeat: int) -> None:
    """`command` on a fresh DuckDB file and a fresh lake, alternating; medians and ratio."""
    times: dict[str, list[float]] = {"file": [], "lake": []}
    for round_ in range(repeat):
        for side in ("file", "lake"):
            run = tmp / f"{label}-{side}{round_}"
            database = None
            if side == "lake":
                database, env = _fresh_lake(run, base)
            else:
                env = _env(base, run, str(run / "data" / "warehouse.duckdb"))
            try:
                result = _measure_in(Path(base["PYTHONPATH"]), command, env)
                assert result["rc"] == 0, result["stdout"] + result["stderr"]
            finally:
                if database:
                    _drop(database)
            times[side].append(result["seconds"])
        print(
            f"  round {round_ + 1}: file {times['file'][-1]:.1f}s, lake {times['lake'][-1]:.1f}s"
            f" (load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    file_s, lake_s = statistics.median(times["file"]), statistics.median(times["lake"])
    print(
        f"  median: file {file_s:.1f}s, lake {lake_s:.1f}s, ratio lake/file {lake_s / file_s:.2f}x"
    )


def _rows(env: dict) -> int:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from pipeline.defs.shared.resources import warehouse_resource\n"
            "with warehouse_resource().get_connection(read_only=True) as c:\n"
            "    print(c.execute('SELECT count(*) FROM sales.transactions').fetchall()[0][0])",
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=6_000_000)
    parser.add_argument("--files-rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--parts", default="demo,small,big,parallel")
    parser.add_argument("--code", type=Path, default=REPO)
    args = parser.parse_args()
    wanted = set(args.parts.split(","))
    base = {**os.environ, "PYTHONPATH": str(args.code.resolve())}
    with tempfile.TemporaryDirectory(prefix="bench-lake-") as tmp_dir:
        tmp = Path(tmp_dir)
        if "demo" in wanted:
            print("C. pipeline demo", flush=True)
            _alternate("demo", [sys.executable, "-m", "pipeline", "demo"], base, tmp, args.repeat)
        if "small" in wanted:
            if REAL_CSV.exists():
                print(f"D. pipeline ingest --wait {REAL_CSV.name} (real, 1,000 rows)", flush=True)
                ingest = [sys.executable, "-m", "pipeline", "ingest", str(REAL_CSV)]
                ingest += ["--datasource", "real", "--wait"]
                _alternate("small", ingest, base, tmp, args.repeat)
            else:
                print(f"D. skipped: {REAL_CSV} is absent")
        if "big" in wanted:
            csv = tmp / "big.csv"
            generate(csv, args.rows)
            print(f"A. one file, {args.rows:,} rows ({csv.stat().st_size / 1e6:,.0f} MB)")
            files, lakes = [], []
            for round_ in range(args.repeat):
                run = tmp / f"file{round_}"
                env = _env(base, run, str(run / "warehouse.duckdb"))
                files.append(_ingest([csv], env, "bench")["seconds"])
                database = _database()
                try:
                    run = tmp / f"lake{round_}"
                    env = _env(
                        base,
                        run,
                        f"ducklake:postgres:dbname={database} host=127.0.0.1 user=postgres",
                        str(run / "lake_data"),
                    )
                    lakes.append(_ingest([csv], env, "bench")["seconds"])
                    assert _rows(env) == args.rows
                finally:
                    _drop(database)
                print(
                    f"  round {round_ + 1}: file {files[-1]:.1f}s, lake {lakes[-1]:.1f}s"
                    f" (load {os.getloadavg()[0]:.2f})"
                )
            print(f"  DuckDB file   best {min(files):6.1f}s")
            print(
                f"  DuckLake      best {min(lakes):6.1f}s   ratio lake/file {min(lakes) / min(files):.2f}x"
            )
        if "parallel" in wanted:
            parts = []
            for n in range(4):
                part = tmp / f"part{n}.csv"
                generate(part, args.files_rows)
                # Distinct order ids per file: four files, four times the rows.
                text = part.read_text().replace("INV-", f"F{n}-")
                part.write_text(text)
                parts.append(part)
            print(
                f"B. four files of {args.files_rows:,} rows into one DuckLake (PostgreSQL catalog)"
            )
            for label, workers in (("one after another", 1), ("2 workers at once", 2)):
                database = _database()
                try:
                    run = tmp / f"many{workers}"
                    lake_url = f"ducklake:postgres:dbname={database} host=127.0.0.1 user=postgres"
                    # Each worker has its own instance and landing folder: they share only the lake.
                    envs = [
                        _env(base, run / f"worker{i}", lake_url, str(run / "lake_data"))
                        for i in range(workers)
                    ]
                    env = envs[0]
                    shares = [parts[i::workers] for i in range(workers)]
                    started = time.perf_counter()
                    with ThreadPoolExecutor(workers) as pool:
                        list(pool.map(_ingest, shares, envs, ["bench"] * workers))
                    elapsed = time.perf_counter() - started
                    assert _rows(env) == 4 * args.files_rows
                finally:
                    _drop(database)
                print(f"  {label:20s} {elapsed:6.1f}s")


if __name__ == "__main__":
    main()
