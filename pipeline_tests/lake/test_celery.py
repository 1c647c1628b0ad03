"""Distributed execution: steps on two Celery worker processes that share only PostgreSQL
(instance + lake catalog) and S3 (lake data), against the embedded backend's results."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from pipeline.lib import warehouse, warehouse_choice
from pipeline.lib.settings import REPO_ROOT
from pipeline_tests.conftest import require

SALES = Path(__file__).parents[1] / "fixtures" / "sales"
FILES = [
    (SALES / "supermarket_sales.csv", "supermarket"),
    (SALES / "sample_superstore.csv", "superstore"),
]
SALES_ASSETS = "sales_uploads,sales_transactions,sales_rejects"
GRANT_ASSETS = "raw_grant_events,grants,grant_changes"
COUNTED = {
    "sales.transactions": "datasource, order_id, line",
    "sales.rejects": None,
    "sales.files": "file_hash",
    "raw.events": "event_id",
    "core.grants": "grant_id",
    "core.grant_sources": "provider, source_id",
    "core.grant_changes": "grant_id, to_hash, field",
}
BIN = Path(sys.executable).parent


def _redis_db() -> int | None:
    """A Redis database of its own for this test's broker: other Celery tests running at the
    same time (another checkout's suite) must not take our steps, nor we theirs. None without
    Redis on 127.0.0.1:6379."""
    try:
        import redis

        for db in random.sample(range(1, 16), 15):
            client = redis.Redis(host="127.0.0.1", port=6379, db=db, socket_timeout=2)
            if client.set("pipeline-test-celery-lock", "1", nx=True, ex=900):
                client.flushdb()  # stale messages of an earlier, killed run
                client.set("pipeline-test-celery-lock", "1", ex=900)
                return db
    except Exception:
        return None
    return None


def _counts(location) -> dict[str, tuple[int, int]]:
    """(rows, distinct keys) per table: equal numbers mean no duplicates."""
    with warehouse.connection(location, read_only=True) as conn:
        result = {}
        for table, key in COUNTED.items():
            rows = warehouse.scalar(conn, f"SELECT count(*) FROM {table}")
            keys = (
                warehouse.scalar(conn, f"SELECT count(DISTINCT ({key})) FROM {table}")
                if key
                else rows
            )
            result[table] = (rows, keys)
        return result


def _land_files(instance) -> list[str]:
    from pipeline.defs.sales.operations import land_file
    from pipeline.defs.shared.resources import warehouse_resource

    warehouse = warehouse_resource()
    return [
        land_file(path, datasource, warehouse=warehouse, instance=instance).partition_key
        for path, datasource in FILES
    ]


def _embedded_reference(pipeline_env: Path, today: str) -> dict:
    """The same three runs in this process on a DuckDB file (one after another)."""
    import dagster as dg

    from pipeline.definitions import defs

    loaded = defs()
    with dg.instance_for_test() as instance:
        for key in _land_files(instance):
            assert dg.materialize(
                list(loaded.assets),
                selection=SALES_ASSETS.split(","),
                partition_key=key,
                instance=instance,
                resources=loaded.resources,
            ).success
        assert dg.materialize(
            list(loaded.assets),
            selection=GRANT_ASSETS.split(","),
            partition_key=today,
            instance=instance,
            resources=loaded.resources,
        ).success
    return _counts(pipeline_env / "warehouse.duckdb")


@pytest.mark.slow
@pytest.mark.server
def test_two_celery_workers_run_sales_and_grants_concurrently_on_the_lake(
    pipeline_env, tmp_path, postgres_url, s3_server, monkeypatch
):
    db = _redis_db()
    require(db is not None, "Redis (the Celery broker here) is not reachable on 127.0.0.1:6379")
    today = dt.datetime.now(dt.UTC).date().isoformat()
    expected = _embedded_reference(pipeline_env, today)
    assert expected["sales.transactions"][0] > 10_000 and expected["core.grants"][0] > 0

    # The distributed set-up: instance and lake catalog in PostgreSQL, lake data on S3, a fresh
    # landing zone; nothing else is shared with the workers.
    home = tmp_path / "celery_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "deploy" / "postgres" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_PG_URL", postgres_url)
    monkeypatch.setenv("PIPELINE_WAREHOUSE", f"ducklake:postgres:{postgres_url}")
    monkeypatch.setenv("PIPELINE_LAKE_DATA", "s3://lake/data/")
    monkeypatch.setenv("PIPELINE_LANDING", str(tmp_path / "landing2"))
    monkeypatch.setenv("PIPELINE_CELERY_BROKER", f"redis://127.0.0.1:6379/{db}")
    monkeypatch.setenv("PIPELINE_CELERY_BACKEND", f"redis://127.0.0.1:6379/{db}")
    queue = f"pipeline-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "deploy" / "celery"), str(REPO_ROOT)]),
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    files = contextlib.ExitStack()
    workers = [
        subprocess.Popen(
            [
                str(BIN / "celery"),
                "-A",
                "dagster_celery.app",
                "worker",
                "-Q",
                "dagster",
                "-c",
                "1",
                "-n",
                f"{queue}-{n}@%h",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "info",
            ],
            env=env,
            cwd=REPO_ROOT,
            stdout=files.enter_context((logs / f"worker{n}.log").open("w")),
            stderr=subprocess.STDOUT,
        )
        for n in (1, 2)
    ]
    try:
        import dagster as dg

        with dg.DagsterInstance.get() as instance:
            keys = _land_files(instance)
        runs = [
            subprocess.Popen(
                [
                    str(BIN / "dagster"),
                    "asset",
                    "materialize",
                    "-f",
                    str(REPO_ROOT / "deploy" / "celery" / "definitions.py"),
                    "--select",
                    select,
                    "--partition",
                    partition,
                ],
                env=env,
                cwd=REPO_ROOT,
                stdout=files.enter_context((logs / f"run{i}.log").open("w")),
                stderr=subprocess.STDOUT,
            )
            for i, (select, partition) in enumerate(
                [(SALES_ASSETS, keys[0]), (SALES_ASSETS, keys[1]), (GRANT_ASSETS, today)]
            )
        ]
        deadline = time.monotonic() + 480
        for run in runs:
            run.wait(timeout=max(1, deadline - time.monotonic()))
        outputs = [(logs / f"run{i}.log").read_text() for i in range(3)]
        assert [r.returncode for r in runs] == [0, 0, 0], "\n\n".join(o[-3000:] for o in outputs)

        worker_logs = [(logs / f"worker{n}.log").read_text() for n in (1, 2)]
        # Steps really ran on the workers, and on both of them.
        assert all("succeeded" in log for log in worker_logs), worker_logs
        with dg.DagsterInstance.get() as instance:
            finished = instance.get_runs(
                filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.SUCCESS])
            )
            assert len(finished) == 3
        assert _counts(warehouse_choice.configured()) == expected
    finally:
        import redis

        redis.Redis(host="127.0.0.1", port=6379, db=db).delete("pipeline-test-celery-lock")
        files.close()
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
