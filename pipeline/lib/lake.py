"""The DuckLake backend of the warehouse: same schemas, tables and SQL as the DuckDB file.

`PIPELINE_WAREHOUSE=ducklake:postgres:dbname=lake host=...` (or `ducklake:sqlite:/path/cat.db`,
`ducklake:/path/cat.ducklake`) keeps the catalog in PostgreSQL / SQLite / a DuckDB file and the
data as Parquet under `PIPELINE_LAKE_DATA` (`s3://bucket/prefix/` or a folder). Each process
attaches it once; DuckLake's catalog transactions let many writers commit.

DuckLake has no PRIMARY KEY / UNIQUE / CHECK constraints, indexes, sequences or list defaults,
so the migrations' tables are created without them (pipeline.lib.lake_ddl), and writers upsert
with `MERGE INTO` on the keys the migrations declare (pipeline.lib.merge), which both backends
run as written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import duckdb
from tenacity import RetryCallState, Retrying, retry_if_exception

from pipeline.lib import duckdb_extensions, lake_ddl, retries
from pipeline.lib.settings import DEFAULT_LAKE_SNAPSHOT_DAYS
from pipeline.lib.settings.storage import aws_credentials, s3_endpoint_url
from pipeline.lib.warehouse import Warehouse

CATALOG_ALIAS = "lake"
INLINE_ROWS = 1000
# A data file the catalog does not name is left this long: it may be a write not yet committed.
ORPHAN_GRACE = dt.timedelta(days=1)


class LakeConfigError(RuntimeError):
    """The DuckLake warehouse is configured in a way that cannot work."""


@dataclass(frozen=True)
class LakeTarget:
    url: str  # ducklake:<catalog>
    data_path: str | None  # s3://bucket/prefix/ or an absolute folder

    @property
    def catalog_kind(self) -> str:
        rest = self.url.removeprefix("ducklake:")
        if rest.startswith("postgres:"):
            return "postgres"
        if rest.startswith("sqlite:"):
            return "sqlite"
        return "duckdb"

    def describe(self) -> str:
        """The target without credentials (a catalog DSN may carry a password)."""
        shown = re.sub(r"(password\s*=\s*)\S+", r"\1***", self.url, flags=re.IGNORECASE)
        shown = re.sub(r"//([^:/@]+):[^@/]+@", r"//\1:***@", shown)
        return f"{shown} (data {self.data_path or 'as recorded in the catalog'})"


def target(url: str, data_path: str | None) -> LakeTarget:
    if data_path and not data_path.startswith("s3://"):
        data_path = str(Path(data_path).expanduser().resolve()) + "/"
    return LakeTarget(url=url, data_path=data_path or None)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _create_s3_secret(conn: duckdb.DuckDBPyConnection) -> None:
    """A DuckDB secret from the standard AWS_* variables (never logged or echoed)."""
    credentials = aws_credentials()
    options = {"TYPE": "s3"}
    for option, value in (
        ("KEY_ID", credentials.key_id),
        ("SECRET", credentials.secret),
        ("SESSION_TOKEN", credentials.session_token),
    ):
        if value:
            options[option] = _literal(value)
    options["REGION"] = _literal(credentials.region)
    if endpoint := s3_endpoint_url():
        parsed = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
        options["ENDPOINT"] = _literal(parsed.netloc)
        options["USE_SSL"] = "true" if parsed.scheme == "https" else "false"
        options["URL_STYLE"] = "'path'"  # S3-compatible servers (MinIO, moto) rarely do vhost style
    body = ", ".join(f"{key} {value}" for key, value in options.items())
    try:
        conn.execute(f"CREATE OR REPLACE SECRET pipeline_lake_s3 ({body})")
    except duckdb.Error as error:
        # The statement holds the credentials: report the failure without it.
        raise LakeConfigError(
            f"could not configure S3 access from the AWS_* variables: {type(error).__name__}"
        ) from None


def attach(conn: duckdb.DuckDBPyConnection, lake: LakeTarget) -> None:
    """Load the packaged extensions and attach the lake as the connection's default catalog."""
    duckdb_extensions.load(conn, "ducklake")
    if lake.catalog_kind == "postgres":
        duckdb_extensions.load(conn, "postgres_scanner")
    elif lake.catalog_kind == "sqlite":
        duckdb_extensions.load(conn, "sqlite_scanner")
    if lake.data_path and lake.data_path.startswith("s3://"):
        duckdb_extensions.load(conn, "httpfs")
        _create_s3_secret(conn)
    options = []
    if lake.data_path:
        if not lake.data_path.startswith("s3://"):
            Path(lake.data_path).mkdir(parents=True, exist_ok=True)
        options.append(f"DATA_PATH {_literal(lake.data_path)}")
    elif lake.catalog_kind == "postgres":
        raise LakeConfigError(
            "PIPELINE_LAKE_DATA must name where DuckLake keeps its data files "
            "(s3://bucket/prefix/ or a folder) when the catalog is in PostgreSQL"
        )
    # Writes of up to this many rows go into the catalog instead of a Parquet file each
    # (DuckLake's data inlining; compact() flushes them to files).
    options.append(f"DATA_INLINING_ROW_LIMIT {INLINE_ROWS}")
    if lake.catalog_kind in ("sqlite", "duckdb"):
        catalog_file = lake.url.removeprefix("ducklake:").removeprefix("sqlite:")
        Path(catalog_file).expanduser().parent.mkdir(parents=True, exist_ok=True)
    conn.execute(f"ATTACH {_literal(lake.url)} AS {CATALOG_ALIAS} ({', '.join(options)})")
    conn.execute(f"USE {CATALOG_ALIAS}")


# --- one attached lake per process -----------------------------------------------------------

_attached: dict[tuple[str, int], duckdb.DuckDBPyConnection] = {}
_attach_lock = threading.Lock()
_threads = threading.local()


def _open_in_thread() -> weakref.WeakSet:
    """The lake connections this thread has open."""
    if not hasattr(_threads, "connections"):
        _threads.connections = weakref.WeakSet()
    return _threads.connections


class DuckLake(Warehouse):
    """The lake: attached once per process (loading the extensions, the S3 secret and the
    catalog take most of a connection's cost), each caller on its own cursor of that
    database. DuckLake's catalog transactions let many processes write at once."""

    migration_attempts = 5
    readers_migrate = True

    def __init__(
        self,
        lake: LakeTarget,
        *,
        lock_timeout_s: float = 120.0,
        snapshot_days: float = DEFAULT_LAKE_SNAPSHOT_DAYS,
    ) -> None:
        super().__init__(lock_timeout_s=lock_timeout_s)
        self.target = lake
        self.snapshot_days = snapshot_days  # compact() expires older snapshots

    def describe(self) -> str:
        return f"{self.target.describe()}, snapshots kept {self.snapshot_days:g} day(s)"

    def exists(self) -> bool:
        return True  # created on first attach

    @property
    def identity(self) -> str:
        return f"{self.target.url}|{self.target.data_path}"

    def schema_ddl(self, migration_sql: str, earlier: Sequence[str]) -> str:
        return lake_ddl.schema_ddl(migration_sql, earlier)

    def _database(self) -> duckdb.DuckDBPyConnection:
        # Keyed by process too: a DuckDB database must not be used across fork().
        key = (self.identity, os.getpid())
        with _attach_lock:
            if key not in _attached:
                conn = duckdb.connect(":memory:", config=duckdb_extensions.connection_config())
                try:
                    attach(conn, self.target)
                except BaseException:
                    conn.close()
                    raise
                _attached[key] = conn
            return _attached[key]

    def _open_once(self, read_only: bool):
        # A connection opened inside another one's block (same thread) must see what that one
        # wrote, as it would in autocommit: the open units are committed first.
        open_here = _open_in_thread()
        for outer in open_here:
            outer.commit_unit()
        # One read-write attach serves readers too: a second, read-only one would cost a
        # second attach.
        cursor = self._database().cursor()
        cursor.execute(f"USE {CATALOG_ALIAS}")
        conn = LakeConnection(cursor)
        open_here.add(conn)
        return conn

    def compact(self) -> str:
        """Inlined rows go to Parquet files and small adjacent files are merged. Snapshots older
        than `snapshot_days` expire (time travel reaches back that far) and the files only
        they used are deleted, as are data files the catalog never recorded (a write killed
        before its commit) once they are ORPHAN_GRACE old: a younger one may be a write still
        in progress."""
        keep = dt.timedelta(days=self.snapshot_days)
        now = dt.datetime.now(dt.UTC)
        catalog = _literal(CATALOG_ALIAS)
        with self.connection() as conn:
            conn.execute(f"CALL ducklake_flush_inlined_data({catalog})").fetchall()
            merged = conn.execute(f"CALL ducklake_merge_adjacent_files({catalog})").fetchall()
            expired = conn.execute(
                f"CALL ducklake_expire_snapshots({catalog}, older_than => ?)", [now - keep]
            ).fetchall()
            # Only the expired snapshots used these files: no reader can ask for them again.
            unused = conn.execute(
                f"CALL ducklake_cleanup_old_files({catalog}, cleanup_all => true)"
            ).fetchall()
            orphans = conn.execute(
                f"CALL ducklake_delete_orphaned_files({catalog}, older_than => ?)",
                [now - ORPHAN_GRACE],
            ).fetchall()
        return (
            f"flushed inlined rows, merged small files ({len(merged)} file(s) written),"
            f" expired {len(expired)} snapshot(s) older than {self.snapshot_days:g} day(s),"
            f" deleted {len(unused)} file(s) no snapshot uses and {len(orphans)} orphaned file(s)"
        )


# Another writer changed the same data since we began; or, with a SQLite catalog, held its lock.
_CONFLICTS = ("transaction conflict", "database is locked")
MAX_REPLAYS = 8


def is_conflict(error: BaseException) -> bool:
    """DuckLake refused a commit because of another writer; doing it again can succeed."""
    return isinstance(error, duckdb.Error) and any(c in str(error).lower() for c in _CONFLICTS)


class LakeConnection:
    """A DuckDB connection attached to the lake. Each DuckLake commit writes a snapshot to the
    catalog, so statements outside an explicit transaction are not committed one by one: they
    run in one implicit transaction (a unit) that is committed before the caller's own BEGIN,
    before a registered frame is unregistered, and at close. A statement that fails in a unit
    leaves the statements before it in place, as in autocommit (the unit is rolled back and
    replayed without it).

    Write conflicts between processes are resolved optimistically: DuckLake refuses a commit
    when another writer deleted from the same data file meanwhile, so the statements of the
    refused transaction are replayed on the new snapshot and committed again. (They are SQL, so
    they re-read what they depend on; callers do not decide on data read inside a transaction
    and then write it back from Python.) Everything else is the DuckDBPyConnection's."""

    def __init__(self, conn: duckdb.DuckDBPyConnection):
        self._conn = conn
        self._transaction: list[tuple] | None = None  # the caller's BEGIN ... COMMIT
        self._unit: list[tuple] | None = None  # statements outside it, not yet committed

    def _conflict_replays(self) -> Retrying:
        """Tries again after a conflict, rolling the refused transaction back before the wait."""
        return retries.retrying(
            retry=retry_if_exception(is_conflict),
            attempts=MAX_REPLAYS + 1,
            first_s=0.05,
            jitter=(0.5, 1.5),
            before_sleep=self._roll_back,
        )

    def _roll_back(self, _state: RetryCallState | None = None) -> None:
        with contextlib.suppress(duckdb.Error):
            self._conn.execute("ROLLBACK")

    def _replay(self, statements: list[tuple]) -> None:
        self._conn.execute("BEGIN TRANSACTION")
        for method, query, parameters in statements:
            getattr(self._conn, method)(query, parameters)

    def _commit(self, statements: list[tuple]) -> None:
        for attempt in self._conflict_replays():
            with attempt:
                if attempt.retry_state.attempt_number > 1:  # replay on the new snapshot
                    self._replay(statements)
                self._conn.execute("COMMIT")

    def commit_unit(self) -> None:
        """Commit the statements run outside an explicit transaction so far."""
        if self._unit is not None:
            statements, self._unit = self._unit, None
            self._commit(statements)

    def _run_in_unit(self, method: str, query, parameters) -> None:
        if self._unit is None:
            self._conn.execute("BEGIN TRANSACTION")
            self._unit = []
        for attempt in self._conflict_replays():
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    self._replay(self._unit)
                try:
                    getattr(self._conn, method)(query, parameters)
                except duckdb.Error as error:
                    if not is_conflict(error):
                        # Aborted the unit: bring back what ran before, without this one.
                        self._roll_back()
                        self._replay(self._unit)
                    raise
        self._unit.append((method, query, parameters))

    def _run(self, method: str, query, parameters) -> None:
        keyword = query.lstrip()[:8].upper() if isinstance(query, str) else ""
        if keyword.startswith("BEGIN"):
            self.commit_unit()
            self._transaction = []
        elif keyword.startswith("COMMIT"):
            statements, self._transaction = self._transaction or [], None
            self._commit(statements)
            return
        elif keyword.startswith(("ROLLBACK", "ABORT")):
            self._transaction = None
        elif self._transaction is not None:
            self._transaction.append((method, query, parameters))
        else:
            self._run_in_unit(method, query, parameters)
            return
        getattr(self._conn, method)(query, parameters)

    def execute(self, query, parameters=None):
        self._run("execute", query, parameters)
        return self

    def executemany(self, query, parameters=None):
        self._run("executemany", query, parameters)
        return self

    def unregister(self, name: str):
        self.commit_unit()  # its statements may read the frame when replayed
        return self._conn.unregister(name)

    def close(self) -> None:
        _open_in_thread().discard(self)
        try:
            if self._transaction is not None:
                self._roll_back()  # a BEGIN the caller never ended, as on any connection
            else:
                self.commit_unit()
        finally:
            self._conn.close()

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
