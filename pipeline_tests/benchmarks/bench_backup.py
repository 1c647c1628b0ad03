"""Backup and restore of a warehouse with a few million rows, against copying the .duckdb file
(the baseline: what a naive file-level backup costs on the same disk).

    .venv/bin/python pipeline_tests/benchmarks/bench_backup.py [rows]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from pipeline.lib import backup, warehouse


def timed(label: str, fn) -> float:
    started = time.perf_counter()
    fn()
    seconds = time.perf_counter() - started
    print(f"{label:<28} {seconds:7.2f} s")
    return seconds


def main(rows: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as tmp:
        root = Path(tmp)
        source = root / "warehouse.duckdb"
        with warehouse.connection(source) as conn:
            conn.execute(
                "CREATE TABLE sales.bench AS SELECT i AS id, 'store-' || (i % 50) AS branch,"
                " DATE '2026-01-01' + (i % 365)::INT AS day, (i % 997) * 1.25 AS amount,"
                " md5(i::VARCHAR) AS note FROM range(?) t(i)",
                [rows],
            )
        size_mb = source.stat().st_size / 1e6
        print(f"warehouse: {rows:,} rows, {size_mb:.0f} MB")
        copy = timed("baseline: copy .duckdb file", lambda: shutil.copyfile(source, root / "c"))
        export = timed("pipeline backup (Parquet)", lambda: backup.backup(source, root / "bk"))
        parquet_mb = sum(f.stat().st_size for f in (root / "bk").iterdir()) / 1e6
        manifest = backup.Manifest.read(root / "bk")
        verify = timed("SHA-256 verify (in restore)", lambda: backup.verify(root / "bk", manifest))
        target = root / "restored.duckdb"
        restore = timed("pipeline restore", lambda: backup.restore(root / "bk", target))
        print(f"backup size {parquet_mb:.0f} MB ({parquet_mb / size_mb:.2f}x the database file)")
        print(f"backup / copy  {export / copy:6.1f}x")
        print(f"restore / copy {restore / copy:6.1f}x")
        print(f"verify / restore {verify / restore:6.2f}x (checking every file before import)")
        print(f"rows per second: backup {rows / export:,.0f}, restore {rows / restore:,.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3_000_000)
