"""The warehouse: short-lived connections that wait out other processes' locks, and
versioned, forward-only schema migrations recorded in `meta.schema_migrations`.

Two backends, chosen by `PIPELINE_WAREHOUSE` alone (see pipeline.lib.settings):
- a file path: one embedded DuckDB file (the default). DuckDB lets one process hold a file at a
  time (even read-only opens fail while another process writes), so every caller connects for
  one unit of work and retries on a lock;
- a `ducklake:` URL: DuckLake (pipeline.lib.lake), catalog in PostgreSQL/SQLite, data files on S3
  or in a folder, which many processes on many hosts read and write at once.
Callers write the same SQL for both; `location` is whatever `settings().warehouse` holds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb
from tenacity import RetryCallState, retry_if_exception, retry_if_exception_type

from pipeline.lib import duckdb_extensions, lake, retries

log = logging.getLogger(__name__)

MIGRATIONS_PACKAGE = "pipeline.lib.migrations"
# The DuckDB file's lock; SQLite's when a DuckLake catalog lives in SQLite; and two processes
# creating the same fresh lake at once (the loser's CREATE TABLE of the catalog collides).
_LOCK_MARKERS = (
    "could not set lock",
    "conflicting lock",
    "lock on file",
    "database is locked",
    "failed to initialize ducklake",
)
META_DDL = (
    "CREATE SCHEMA IF NOT EXISTS meta;"
    " CREATE TABLE IF NOT EXISTS meta.schema_migrations ("
    " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
    " applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp);"
)


class WarehouseLockedError(RuntimeError):
    """Another process kept the warehouse locked for longer than we were willing to wait."""


def is_lock_error(error: BaseException) -> bool:
    return isinstance(error, duckdb.Error) and any(m in str(error).lower() for m in _LOCK_MARKERS)


def is_lake(location) -> bool:
    """True when `location` selects the DuckLake backend rather than a DuckDB file."""
    return isinstance(location, lake.LakeTarget) or str(location).startswith("ducklake:")


def _lake_target(location) -> lake.LakeTarget:
    if isinstance(location, lake.LakeTarget):
        return location
    from pipeline.lib.settings import lake_data  # settings imports nothing from here

    return lake.target(str(location), lake_data())


def describe(location) -> str:
    """The warehouse for messages and metadata: a file path, or the lake without credentials."""
    return _lake_target(location).describe() if is_lake(location) else str(location)


def exists(location) -> bool:
    """Whether there is a warehouse to read yet (a lake is created on first attach)."""
    return True if is_lake(location) else Path(str(location)).exists()


def _connect(location, read_only: bool, config: dict | None):
    if is_lake(location):
        conn = duckdb.connect(":memory:", config=duckdb_extensions.connection_config())
        try:
            lake.attach(conn, _lake_target(location), read_only=read_only)
        except BaseException:
            conn.close()
            raise
        return lake.LakeConnection(conn)
    database = str(location)
    if database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(
        database,
        read_only=read_only,
        config={**duckdb_extensions.connection_config(), **(config or {})},
    )


def open_connection(
    location,
    *,
    read_only: bool = False,
    timeout_s: float = 120.0,
    config: dict | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, retrying with jittered exponential backoff while another process
    holds its lock (logged once per wait, not per attempt). Raises WarehouseLockedError naming
    the warehouse after `timeout_s`."""
    started = time.monotonic()

    def log_first_wait(state: RetryCallState) -> None:
        if state.attempt_number == 1:
            log.info(
                "warehouse %s is locked by another process; waiting up to %.0fs",
                describe(location),
                timeout_s,
            )

    lock_waits = retries.retrying(
        retry=retry_if_exception(is_lock_error),
        within_s=timeout_s,
        first_s=0.05,
        max_s=2.0,
        jitter=(0.5, 1.5),
        before_sleep=log_first_wait,
    )
    try:
        conn = lock_waits(_connect, location, read_only, config)
    except duckdb.Error as error:
        if not is_lock_error(error):
            raise
        raise WarehouseLockedError(
            f"warehouse {describe(location)} stayed locked by another process for "
            f"{timeout_s:.0f}s: {error}"
        ) from error
    if lock_waits.statistics["attempt_number"] > 1:
        log.info("warehouse lock acquired after %.1fs", time.monotonic() - started)
    return conn


@contextmanager
def connection(
    location, *, read_only: bool = False, timeout_s: float = 120.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """One unit of work on the warehouse; the schema is brought up to date on first use
    per process (a lake even for readers: DuckLake cannot attach a lake read-only before it
    exists), and the connection is always closed so the lock is released."""
    if not read_only or is_lake(location):
        ensure_schema(location, timeout_s=timeout_s)
    conn = open_connection(location, read_only=read_only, timeout_s=timeout_s)
    try:
        yield conn
    finally:
        conn.close()


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    """Every `NNNN_name.sql` in pipeline/lib/migrations, in version order.

    Version ranges per domain keep parallel work from colliding: 0001-0099 shared,
    0100 grants, 0200 news, 0300 scoring, 0400 sales, 0500 notify, 0600 health, 0700 operations.
    """
    migrations = []
    for entry in resources.files(MIGRATIONS_PACKAGE).iterdir():
        if not entry.name.endswith(".sql"):
            continue
        version_text, _, name = entry.name.removesuffix(".sql").partition("_")
        migrations.append(Migration(int(version_text), name, entry.read_text(encoding="utf-8")))
    migrations.sort(key=lambda m: m.version)
    versions = [m.version for m in migrations]
    if len(versions) != len(set(versions)):
        raise RuntimeError(f"two migrations share a version number: {versions}")
    return migrations


def table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether `schema.table` exists (a name without a schema is looked up in `main`)."""
    schema, _, name = table.rpartition(".")
    rows = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema or "main", name],
    ).fetchall()
    return bool(rows[0][0])


def applied_versions(conn: duckdb.DuckDBPyConnection) -> set[int]:
    if not table_exists(conn, "meta.schema_migrations"):
        return set()
    return {row[0] for row in conn.execute("SELECT version FROM meta.schema_migrations").fetchall()}


def migrate(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply every migration not yet recorded, each in its own transaction. Forward-only:
    an applied migration is never re-run or rolled back. Returns the names applied.
    On DuckLake each migration is first rewritten to what DuckLake holds (lake.translate_ddl)."""
    on_lake = isinstance(conn, lake.LakeConnection)
    conn.execute(lake.translate_ddl(META_DDL)[0] if on_lake else META_DDL)
    done = applied_versions(conn)
    applied = []
    for migration in available_migrations():
        if migration.version in done:
            continue
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.execute(lake.translate_ddl(migration.sql)[0] if on_lake else migration.sql)
            conn.execute(
                "INSERT INTO meta.schema_migrations (version, name) VALUES (?, ?)",
                [migration.version, migration.name],
            )
            conn.execute("COMMIT")
        except Exception as error:
            conn.execute("ROLLBACK")
            raise RuntimeError(
                f"warehouse migration {migration.version:04d}_{migration.name} failed: {error}"
            ) from error
        applied.append(f"{migration.version:04d}_{migration.name}")
        log.info("applied warehouse migration %04d_%s", migration.version, migration.name)
    return applied


_migrated: set[str] = set()
_migrate_lock = threading.Lock()


def _schema_key(location) -> str:
    if is_lake(location):
        target = _lake_target(location)
        return f"{target.url}|{target.data_path}"
    return str(Path(str(location)).resolve()) if str(location) != ":memory:" else ":memory:"


def ensure_schema(location, *, timeout_s: float = 120.0) -> None:
    """Migrate the warehouse at `location` once per process. Processes starting together on
    one lake may race to apply the same migration: the loser re-reads what is applied."""
    key = _schema_key(location)
    if key in _migrated:
        return
    with _migrate_lock:
        if key in _migrated:
            return
        migration_races = retries.retrying(
            retry=retry_if_exception_type(RuntimeError),
            attempts=5 if is_lake(location) else 1,
            first_s=0.2,
            max_s=0.8,
            jitter=(0.5, 1.5),
        )
        for attempt in migration_races:
            # Outside the attempt: a lock wait that timed out is not retried again.
            conn = open_connection(location, timeout_s=timeout_s)
            try:
                with attempt:
                    migrate(conn)
            finally:
                conn.close()
        _migrated.add(key)


def schema_version(conn: duckdb.DuckDBPyConnection) -> int:
    versions = applied_versions(conn)
    return max(versions) if versions else 0


def scalar(conn: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """The first value of a query. Uses fetchall: in DuckDB 2.0 a half-read result (fetchone)
    makes the next register() on the connection fail with "unfinished result"."""
    rows = conn.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def register_frame(conn: duckdb.DuckDBPyConnection, name: str, frame) -> None:
    conn.execute("SELECT 1").fetchall()  # DuckDB 2.0: register() refuses while a result is pending
    conn.register(name, frame.to_arrow() if hasattr(frame, "to_arrow") else frame)


def unregister_frame(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    conn.execute("SELECT 1").fetchall()
    conn.unregister(name)


def replace_where(
    conn: duckdb.DuckDBPyConnection, table: str, frame, where_sql: str, params: list | None = None
) -> int:
    """Atomically replace the rows of `table` matching `where_sql` with `frame` (same column
    names): the idempotent write for a partition. Returns rows written."""
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    register_frame(conn, "incoming_frame", frame)
    try:
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.execute(f"DELETE FROM {table} WHERE {where_sql}", params or [])
            conn.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming_frame")
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise
    finally:
        unregister_frame(conn, "incoming_frame")
    return frame.height if hasattr(frame, "height") else len(frame)


def upsert(conn: duckdb.DuckDBPyConnection, table: str, frame) -> int:
    """Insert `frame` into `table`, replacing rows with the same primary key."""
    if (frame.height if hasattr(frame, "height") else len(frame)) == 0:
        return 0
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    register_frame(conn, "incoming_frame", frame)
    try:
        conn.execute(
            f"INSERT OR REPLACE INTO {table} ({columns}) SELECT {columns} FROM incoming_frame"
        )
    finally:
        unregister_frame(conn, "incoming_frame")
    return frame.height if hasattr(frame, "height") else len(frame)
