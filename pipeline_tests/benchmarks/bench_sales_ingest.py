"""Benchmark: `pipeline ingest --wait` on a generated 6,000,000-row (~400 MB) sales CSV against
bare DuckDB (read_csv into a table + the same daily aggregate), both in child processes of this
run. Prints both times, the ratio (target <= 2x) and each child's peak RSS (target <= 1.5 GB).

    .venv/bin/python pipeline_tests/benchmarks/bench_sales_ingest.py [--rows N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# One child per measurement, wrapped so RUSAGE_CHILDREN sees only that command.
MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"seconds": time.perf_counter() - started, "rc": done.returncode,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  "stdout": done.stdout[-2000:], "stderr": done.stderr[-2000:]}))
"""

BASELINE = """
import duckdb, sys
conn = duckdb.connect(sys.argv[2])
conn.execute("SET threads = 2")
conn.execute(f"CREATE TABLE lines AS SELECT * FROM read_csv('{sys.argv[1]}')")
conn.execute(
    'CREATE TABLE daily AS SELECT "Date" AS order_date, "Branch", "Product line",'
    ' sum("Unit price" * "Quantity") AS revenue, sum(("Unit price" - "Unit cost") * "Quantity")'
    ' AS profit, count(DISTINCT "Invoice ID") AS orders, sum("Quantity") AS units'
    ' FROM lines GROUP BY ALL'
)
print(conn.execute("SELECT count(*) FROM daily").fetchall()[0][0])
"""


def generate(path: Path, rows: int) -> None:
    import duckdb

    conn = duckdb.connect()
    conn.execute(
        f"""COPY (
            SELECT printf('INV-%010d', i // 3) AS "Invoice ID",
                   DATE '2024-01-01' + (i * 7 % 730)::INTEGER AS "Date",
                   ['Harbour St', 'Market Sq', 'Station Rd', 'Airport'][1 + i % 4] AS "Branch",
                   ['Groceries', 'Household', 'Electronics', 'Garden', 'Stationery'][1 + i * 13 % 5]
                       AS "Product line",
                   round(1 + (i * 37 % 9973) / 100.0, 2) AS "Unit price",
                   1 + i % 9 AS "Quantity",
                   round((1 + (i * 37 % 9973) / 100.0) * 0.7, 2) AS "Unit cost",
                   printf('cust-%06d', i % 1000003) AS "Customer"
            FROM range({rows}) t(i)
        ) TO '{path}' (HEADER, DELIMITER ',')"""
    )


def measure(command: list[str], env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *command],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=6_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sales-") as tmp:
        tmp_path = Path(tmp)
        csv = tmp_path / "bench_sales.csv"
        started = time.perf_counter()
        generate(csv, args.rows)
        size_mb = csv.stat().st_size / 1e6
        print(
            f"generated {args.rows:,} rows, {size_mb:,.0f} MB in {time.perf_counter() - started:.1f}s"
        )

        env = {**os.environ, "PYTHONPATH": str(REPO)}
        baseline = measure(
            [sys.executable, "-c", BASELINE, str(csv), str(tmp_path / "baseline.duckdb")], env
        )
        assert baseline["rc"] == 0, baseline["stderr"]

        data = tmp_path / "data"
        home = tmp_path / "dagster_home"
        home.mkdir()
        ingest_env = {
            **env,
            "PIPELINE_DATA_DIR": str(data),
            "PIPELINE_WAREHOUSE": str(data / "warehouse.duckdb"),
            "PIPELINE_LANDING": str(data / "landing"),
            "DAGSTER_HOME": str(home),
        }
        ingest = measure(
            [
                sys.executable,
                "-m",
                "pipeline",
                "ingest",
                str(csv),
                "--datasource",
                "bench",
                "--wait",
            ],
            ingest_env,
        )
        assert ingest["rc"] == 0, ingest["stdout"] + ingest["stderr"]

    ratio = ingest["seconds"] / baseline["seconds"]
    print(
        f"bare DuckDB read_csv + daily aggregate: {baseline['seconds']:6.1f}s  peak RSS {baseline['peak_rss_mb']:,.0f} MB"
    )
    print(
        f"pipeline ingest --wait (+ analytics):   {ingest['seconds']:6.1f}s  peak RSS {ingest['peak_rss_mb']:,.0f} MB"
    )
    print(f"ratio {ratio:.2f}x (target <= 2x); peak RSS target <= 1,536 MB")
    print("ingest said:", ingest["stdout"].strip().splitlines()[-1])


if __name__ == "__main__":
    main()
