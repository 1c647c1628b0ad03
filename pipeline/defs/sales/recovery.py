"""Recovery after a crash (kill -9, OOM, a lost machine) in the middle of a sales file:

- a run whose process is gone is marked failed (the in-process runs of `pipeline ingest --wait`
  and `pipeline demo` carry their process in the hidden `.dagster/pipeline_process` tag;
  Dagster's run monitoring covers runs without it, such as those the daemon launches, after
  `max_runtime_seconds`);
- a file still `landed` whose runs failed (or that never got a run) is run again, at most
  MAX_ATTEMPTS times;
- scratch directories and half-copied `.partial` files nobody is working on are removed;
- a file that waits for nothing is reported as stuck (`pipeline health`, the
  sales_uploads_not_stuck check).

The landing sensor runs `fail_dead_runs`, `clean_scratch` and `file_states` on every tick."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from pipeline.lib import warehouse
from pipeline.lib.processes import is_alive, process_identity
from pipeline.lib.sales.landing import abandoned_partials
from pipeline.lib.sales.partition_keys import hash_prefix, partition_key
from pipeline.lib.settings import settings
from pipeline.lib.warehouse import Warehouse

# Under Dagster's hidden-tag prefix (`.dagster/`, TagType.HIDDEN: the UI and its GraphQL API
# leave such tags out), so the Runs page does not show this internal bookkeeping on every run.
PROCESS_TAG = ".dagster/pipeline_process"
PARTITION_TAG = "dagster/partition"
# Dagster sets it on a failed run its run-retry daemon will retry.
WILL_RETRY_TAG = "dagster/will_retry"
# How long a landed file may wait for a first run, a failed run for Dagster's own retry, and a
# .partial copy or scratch directory may sit untouched before recovery acts.
GRACE_SECONDS = 300
MAX_ATTEMPTS = 3

UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
FAILED = {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def scratch_root() -> Path:
    """Where per-file scratch directories (`<hash prefix>-*`) are made."""
    return settings().data_dir / "tmp" / "sales"


def process_tags() -> dict[str, str]:
    """Tags naming this process as the one running a run."""
    return {PROCESS_TAG: process_identity()}


def is_dead(run: dg.DagsterRun) -> bool:
    """An unfinished run whose recorded process is gone."""
    owner = run.tags.get(PROCESS_TAG)
    return not run.is_finished and owner is not None and is_alive(owner) is False


def fail_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark every unfinished run whose process is gone as failed; returns their ids."""
    failed = []
    for record in instance.get_run_records(dg.RunsFilter(statuses=UNFINISHED)):
        run = record.dagster_run
        if is_dead(run):
            instance.report_run_failed(
                run,
                f"the process running it ({run.tags[PROCESS_TAG]}) is gone (killed or crashed);"
                " marked failed by sales recovery",
            )
            failed.append(run.run_id)
    return failed


@dataclass(frozen=True)
class FileState:
    """What recovery makes of one landed, unprocessed file."""

    file_hash: str
    partition_key: str  # its latest run's (maybe the older full-hash form), else the readable one
    datasource: str
    file_name: str
    landed_at: float
    attempts: int  # finished, failed runs
    in_progress: bool  # a run whose process is alive (or cannot be told)
    dead_run: str | None  # an unfinished run whose process is gone
    retry_due: bool  # recovery should start a run now

    @property
    def stuck(self) -> bool:
        return not self.in_progress and (
            self.dead_run is not None or self.attempts > 0 or self.retry_due
        )

    @property
    def gave_up(self) -> bool:
        return self.attempts >= MAX_ATTEMPTS

    def describe(self) -> str:
        if self.dead_run:
            why = f"its run {self.dead_run[:8]} died"
        elif self.gave_up:
            why = f"{self.attempts} runs failed; no more automatic retries"
        elif self.attempts:
            why = f"{self.attempts} run(s) failed; retried automatically"
        else:
            why = f"no run within {GRACE_SECONDS}s of landing; started automatically"
        return f"sales file {self.datasource}/{self.file_name} ({self.partition_key}) stuck: {why}"


def landed_files(conn) -> list[dict]:
    relation = conn.execute(
        "SELECT file_hash, datasource, file_name, landed_at FROM sales.files"
        " WHERE status = 'landed' ORDER BY landed_at"
    )
    names = [d[0] for d in relation.description]
    return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]


def file_states(
    instance: dg.DagsterInstance, files: list[dict], now: float | None = None
) -> list[FileState]:
    """The state of each landed file from the runs of its partition."""
    now = time.time() if now is None else now
    if not files:
        return []
    # Runs under either form of a file's key (readable, or the full hash of older instances).
    file_of_key = {}
    for index, row in enumerate(files):
        file_of_key[row["file_hash"]] = index
        file_of_key[partition_key(row["file_name"], row["file_hash"])] = index
    runs: dict[int, list[dg.RunRecord]] = {}
    for record in instance.get_run_records(dg.RunsFilter(tags={PARTITION_TAG: list(file_of_key)})):
        runs.setdefault(file_of_key[record.dagster_run.tags[PARTITION_TAG]], []).append(record)
    states = []
    for index, row in enumerate(files):
        records = runs.get(index, [])  # newest first
        landed_at = _timestamp(row["landed_at"])
        unfinished = [r for r in records if not r.dagster_run.is_finished]
        dead = next((r.dagster_run.run_id for r in unfinished if is_dead(r.dagster_run)), None)
        in_progress = any(not is_dead(r.dagster_run) for r in unfinished)
        failed = [r for r in records if r.dagster_run.status in FAILED]
        if in_progress or dead or len(failed) >= MAX_ATTEMPTS:
            due = False
        elif not records:
            due = now - landed_at > GRACE_SECONDS
        elif records[0].dagster_run.status in FAILED:
            latest = records[0]
            # Dagster's retry daemon re-launches only runs it can find the code for (not the
            # in-process runs of `pipeline ingest --wait`).
            retry_pending = (
                latest.dagster_run.tags.get(WILL_RETRY_TAG) == "true"
                and latest.dagster_run.remote_job_origin is not None
            )
            ended = latest.end_time or latest.update_timestamp.timestamp()
            due = not retry_pending or now - ended > GRACE_SECONDS
        else:  # succeeded yet still landed: nothing recovery can do better than a person
            due = False
        states.append(
            FileState(
                row["file_hash"],
                records[0].dagster_run.tags[PARTITION_TAG]
                if records
                else partition_key(row["file_name"], row["file_hash"]),
                row["datasource"],
                row["file_name"],
                landed_at,
                len(failed),
                in_progress,
                dead,
                due,
            )
        )
    return states


def read_landed_files(database: Warehouse | Path, timeout_s: float = 60) -> list[dict]:
    """The sales.files rows still `landed` in the warehouse (WarehouseResource's `backend`);
    none before the warehouse or the table exists."""
    database = warehouse.as_warehouse(database)
    if not database.exists():
        return []
    with database.connection(read_only=True, timeout_s=timeout_s) as conn:
        if not warehouse.scalar(
            conn,
            "SELECT count(*) FROM information_schema.tables"
            " WHERE table_schema = 'sales' AND table_name = 'files'",
        ):
            return []
        return landed_files(conn)


def stuck_files(
    instance: dg.DagsterInstance, database: Warehouse | Path, now: float | None = None
) -> list[FileState]:
    """Landed files nothing is working on: their run died, failed, or never came."""
    states = file_states(instance, read_landed_files(database), now)
    return [state for state in states if state.stuck]


def clean_scratch(
    instance: dg.DagsterInstance, root: Path | None = None, now: float | None = None
) -> list[Path]:
    """Remove scratch directories of files no live run works on, and abandoned .partial
    copies in a local landing zone. A directory younger than GRACE_SECONDS is kept whatever
    the runs say: its run may have started after they were read."""
    now = time.time() if now is None else now
    root = scratch_root() if root is None else root
    live = {
        hash_prefix(run.tags[PARTITION_TAG])
        for record in instance.get_run_records(dg.RunsFilter(statuses=UNFINISHED))
        if PARTITION_TAG in (run := record.dagster_run).tags and not is_dead(run)
    }
    removed = []
    for directory in root.glob("*-*") if root.is_dir() else []:
        owner = directory.name.split("-", 1)[0]
        try:
            idle = now - directory.stat().st_mtime
        except FileNotFoundError:
            continue
        if owner not in live and (idle > GRACE_SECONDS or _owner_finished(instance, owner)):
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(directory)
    landing = settings().landing
    if not landing.startswith("s3://"):
        for partial in abandoned_partials(Path(landing), GRACE_SECONDS, now):
            partial.unlink(missing_ok=True)
            removed.append(partial)
    return removed


def _owner_finished(instance: dg.DagsterInstance, owner: str) -> bool:
    """True when a failed run of the file whose hash starts with `owner` exists: its scratch
    can go at once."""
    records = [
        r
        for r in instance.get_run_records(dg.RunsFilter(statuses=[*FAILED]), limit=200)
        if PARTITION_TAG in r.dagster_run.tags
        and hash_prefix(r.dagster_run.tags[PARTITION_TAG]) == owner
    ]
    return bool(records)


def _timestamp(value) -> float:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.timestamp()
    return float(value or 0)
