"""Warehouse backups: DuckDB EXPORT DATABASE as Parquet plus a manifest (row counts and a SHA-256
of every file), and a restore that verifies every file against the manifest, imports into a new
file, checks every table's row count, upgrades the schema, and only then swaps the file in.

A backup directory is portable across machines and DuckDB versions (Parquet + SQL), unlike a
copy of the .duckdb file."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from pipeline.lib import warehouse
from pipeline.lib.hashing import file_hash
from pipeline.lib.warehouse import DuckDBFile, Warehouse, transaction

MANIFEST = "manifest.json"


class BackupError(RuntimeError):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


@dataclass
class Manifest:
    created_at: str
    schema_version: int
    migrations: list[str]
    tables: dict[str, int]
    duckdb_version: str
    source: str
    # SHA-256 of every other file of the backup, by name; None in backups made before they were
    # recorded, which can be restored only unverified.
    files: dict[str, str] | None = None

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST
        if not path.is_file():
            raise BackupError(f"{directory} is not a warehouse backup (no {MANIFEST})")
        return cls(**json.loads(path.read_text(encoding="utf-8")))


@dataclass
class RestoreResult:
    manifest: Manifest
    warehouse: Path
    upgraded_by: list[str] = field(default_factory=list)
    replaced_existing: bool = False


def table_row_counts(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per `schema.table` for every base table in the database."""
    tables = conn.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE' AND table_catalog = current_database() "
        "ORDER BY 1, 2"
    ).fetchall()
    return {
        f"{schema}.{name}": warehouse.scalar(conn, f'SELECT count(*) FROM "{schema}"."{name}"')
        for schema, name in tables
    }


def _migration_names(conn: duckdb.DuckDBPyConnection) -> list[str]:
    if not warehouse.applied_versions(conn):
        return []
    rows = conn.execute("SELECT version, name FROM meta.schema_migrations ORDER BY 1").fetchall()
    return [f"{version:04d}_{name}" for version, name in rows]


def backup(database: Warehouse | Path, target: Path, *, timeout_s: float = 120.0) -> Manifest:
    """Export the warehouse (a DuckDB file or a lake: the warehouse resource's `backend`) into
    `target` (new or empty directory) as Parquet files, schema.sql, load.sql and manifest.json.
    Holds a read-only connection for the export only."""
    database = warehouse.as_warehouse(database)
    if not database.exists():
        raise BackupError(f"no warehouse at {database.describe()}")
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty; back up into a new directory")
    target.mkdir(parents=True, exist_ok=True)
    with database.connection(read_only=True, timeout_s=timeout_s) as conn:
        counts = table_row_counts(conn)
        manifest = Manifest(
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            schema_version=warehouse.schema_version(conn),
            migrations=_migration_names(conn),
            tables=counts,
            duckdb_version=duckdb.__version__,
            source=database.describe(),
        )
        conn.execute(f"EXPORT DATABASE '{_sql_path(target)}' (FORMAT parquet, COMPRESSION zstd)")
    manifest.files = {
        file.name: file_hash(file) for file in sorted(target.iterdir()) if file.name != MANIFEST
    }
    (target / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2), encoding="utf-8")
    return manifest


def holds_data(database: Warehouse | Path, *, timeout_s: float = 120.0) -> bool:
    """True if any table other than the migration record has a row."""
    database = warehouse.as_warehouse(database)
    if not database.exists():
        return False
    with database.connection(read_only=True, timeout_s=timeout_s) as conn:
        counts = table_row_counts(conn)
    return any(rows for table, rows in counts.items() if table != "meta.schema_migrations")


def first_partition_date(database: Warehouse | Path, *, timeout_s: float = 120.0) -> dt.date | None:
    """The earliest daily partition any table of the warehouse holds rows for."""
    database = warehouse.as_warehouse(database)
    with database.connection(read_only=True, timeout_s=timeout_s) as conn:
        tables = conn.execute(
            "SELECT DISTINCT table_schema || '.' || table_name FROM information_schema.columns"
            " WHERE column_name = 'partition_date' AND data_type = 'DATE'"
            " AND table_catalog = current_database()"
        ).fetchall()
        firsts = [
            conn.execute(f"SELECT min(partition_date) FROM {table}").fetchone()[0]
            for (table,) in tables
        ]
    return min((day for day in firsts if day is not None), default=None)


def verify(source: Path, manifest: Manifest, *, origin: str | None = None) -> None:
    """Check every file of the backup against the SHA-256 its manifest recorded, and that none
    is missing or extra; raise BackupError naming the first file that is not as backed up."""
    label = origin or str(source)
    if manifest.files is None:
        raise BackupError(
            f"backup {label} has no checksums (made before backups recorded them), so its files"
            " cannot be verified; pass --unverified to restore it anyway"
        )
    present = {file.name: file for file in source.iterdir() if file.name != MANIFEST}
    for name, expected in sorted(manifest.files.items()):
        file = present.get(name)
        if file is None:
            raise BackupError(f"backup {label} is damaged: {_describe(source, name)} is missing")
        if not file.is_file() or file_hash(file) != expected:
            raise BackupError(
                f"backup {label} is damaged: {_describe(source, name)} does not match the"
                " SHA-256 in its manifest"
            )
    if extra := sorted(set(present) - set(manifest.files)):
        raise BackupError(
            f"backup {label} holds a file its manifest does not list: {extra[0]}"
            " (remove it, or use the backup as it was written)"
        )


def _describe(source: Path, name: str) -> str:
    """`table sales.transactions, file sales_transactions.parquet`, or `file NAME` for the
    files that hold no table (or when load.sql itself cannot be read)."""
    try:
        tables = {file.name: table for table, file in _backup_files(source)}
    except (OSError, UnicodeDecodeError):
        tables = {}
    return f"table {tables[name]}, file {name}" if name in tables else f"file {name}"


def restore(
    source: Path,
    database: Warehouse | Path,
    *,
    force: bool = False,
    unverified: bool = False,
    origin: str | None = None,
    timeout_s: float = 120.0,
) -> RestoreResult:
    """Replace the warehouse with the backup in `source` (`origin`: where it was fetched from,
    for messages). Every file is verified against the manifest first; a backup without
    checksums is refused unless `unverified`. Refuses a warehouse holding data unless `force`.
    A backup from an older schema is upgraded by the pending migrations."""
    database = warehouse.as_warehouse(database)
    manifest = Manifest.read(source)
    if not (unverified and manifest.files is None):
        verify(source, manifest, origin=origin)
    existing = database.exists()
    if not force and holds_data(database, timeout_s=timeout_s):
        raise BackupError(
            f"{database.describe()} already holds data; pass --force to replace it with the backup"
        )
    if not isinstance(database, DuckDBFile):
        return _restore_in_place(source, manifest, database, timeout_s)
    warehouse_path = database.path
    staging = warehouse_path.with_name(warehouse_path.name + ".restoring")
    _remove_database_files(staging)
    conn = DuckDBFile(staging).open()
    try:
        if manifest.source.startswith("ducklake:"):
            # A lake's tables carry no keys (pipeline.lib.lake): build the file from the
            # migrations, which declare them, then load the rows.
            upgraded_by = warehouse.migrate(conn)
            try:
                _load_rows(conn, source, manifest)
            except duckdb.Error as error:
                raise BackupError(_damage(source, error)) from error
        else:
            try:
                conn.execute(f"IMPORT DATABASE '{_sql_path(source)}'")
            except duckdb.Error as error:
                raise BackupError(_damage(source, error)) from error
            restored = table_row_counts(conn)
            wrong = {
                table: (rows, restored.get(table))
                for table, rows in manifest.tables.items()
                if restored.get(table) != rows
            }
            if wrong:
                raise BackupError(f"restored row counts differ from the manifest: {wrong}")
            upgraded_by = warehouse.migrate(conn)
        conn.execute("CHECKPOINT")
    except BaseException:
        conn.close()
        _remove_database_files(staging)
        raise
    conn.close()
    # Wait for any other process to let go of the warehouse, then swap the file in. The
    # target's WAL belongs to the old file and must not be replayed onto the new one.
    database.open(timeout_s=timeout_s).close()
    _remove_database_files(warehouse_path)
    os.replace(staging, warehouse_path)
    return RestoreResult(manifest, warehouse_path, upgraded_by, replaced_existing=existing)


_LOAD_LINE = re.compile(r"^COPY (?P<table>\S+) FROM '(?P<path>(?:[^']|'')*)'")


def _backup_files(source: Path) -> list[tuple[str, Path]]:
    """(table, file in `source`) for each COPY of the backup's load.sql. The paths in it are
    where the backup was written; the files are looked up by name in `source`."""
    load = source / "load.sql"
    if not load.is_file():
        return []
    files = []
    for line in load.read_text(encoding="utf-8").splitlines():
        if match := _LOAD_LINE.match(line):
            name = Path(match["path"].replace("''", "'")).name
            files.append((match["table"], source / name))
    return files


def _damage(source: Path, error: duckdb.Error) -> str:
    """One line naming the table and file a failed import broke on. DuckDB names the file in
    some errors and not in others (a corrupt page says only "Invalid data"), so each file is
    read in full until one fails."""
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    files = _backup_files(source)
    culprit = next(((t, f) for t, f in files if str(f) in str(error) or f.name in str(error)), None)
    if culprit is None:
        # A fresh connection: the failed import may have left `conn`'s transaction aborted.
        with duckdb.connect() as probe:
            for table, file in files:
                try:
                    probe.execute(f"SELECT * FROM read_parquet('{_sql_path(file)}')").fetchall()
                except duckdb.Error as read_error:
                    first_line = str(read_error).strip().splitlines()[0]
                    culprit = (table, file)
                    break
    if culprit is None:
        return f"backup {source} is damaged and cannot be restored: {first_line}"
    table, file = culprit
    problem = "is missing" if not file.exists() else f"cannot be read ({first_line})"
    return f"backup {source} is damaged: table {table}, file {file.name} {problem}"


def _load_rows(conn: duckdb.DuckDBPyConnection, source: Path, manifest: Manifest) -> None:
    """Replace every table's rows with the backup's, matching columns by name (a backup from
    an older schema loads into newer tables), in one transaction checked against the manifest."""
    with transaction(conn):
        for table, file in _backup_files(source):
            if table == "meta.schema_migrations":
                continue  # the target's own migration record describes its tables
            conn.execute(f"DELETE FROM {table}")
            conn.execute(
                f"INSERT INTO {table} BY NAME SELECT * FROM read_parquet('{_sql_path(file)}')"
            )
        restored = table_row_counts(conn)
        wrong = {
            table: (rows, restored.get(table))
            for table, rows in manifest.tables.items()
            if table != "meta.schema_migrations" and restored.get(table) != rows
        }
        if wrong:
            raise BackupError(f"restored row counts differ from the manifest: {wrong}")


def _restore_in_place(
    source: Path, manifest: Manifest, database: Warehouse | Path, timeout_s: float
):
    """A warehouse that is not one file (a lake) cannot be swapped: its schema is brought up
    to date, then its rows are replaced in place."""
    with database.connection(timeout_s=timeout_s) as conn:
        _load_rows(conn, source, manifest)
    return RestoreResult(manifest, database.describe(), [], replaced_existing=True)


def split_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> ("bucket", "some/prefix/")."""
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise BackupError(f"{url} names no bucket")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


def _s3_keys(client, bucket: str, prefix: str) -> list[str]:
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


def upload_directory(client, directory: Path, url: str) -> int:
    """Copy a finished backup directory to `s3://bucket/prefix/` (which must be empty), the
    manifest last so a half-uploaded backup is never mistaken for a whole one."""
    bucket, prefix = split_s3_url(url)
    if _s3_keys(client, bucket, prefix):
        raise BackupError(f"{url} is not empty; back up into a new prefix")
    files = sorted(directory.iterdir(), key=lambda f: f.name == MANIFEST)
    for file in files:
        client.upload_file(str(file), bucket, prefix + file.name)
    return len(files)


def download_directory(client, url: str, directory: Path) -> Path:
    """Fetch a backup from `s3://bucket/prefix/` into `directory`."""
    bucket, prefix = split_s3_url(url)
    keys = [key for key in _s3_keys(client, bucket, prefix) if "/" not in key[len(prefix) :]]
    if prefix + MANIFEST not in keys:
        raise BackupError(f"{url} is not a warehouse backup (no {MANIFEST})")
    directory.mkdir(parents=True, exist_ok=True)
    for key in keys:
        client.download_file(bucket, key, str(directory / key[len(prefix) :]))
    return directory


def _remove_database_files(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)


def _sql_path(path: Path) -> str:
    return str(path.resolve()).replace("'", "''")
