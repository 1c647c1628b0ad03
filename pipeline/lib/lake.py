"""The DuckLake backend of the warehouse: same schemas, tables and SQL as the DuckDB file.

`PIPELINE_WAREHOUSE=ducklake:postgres:dbname=lake host=...` (or `ducklake:sqlite:/path/cat.db`,
`ducklake:/path/cat.ducklake`) keeps the catalog in PostgreSQL / SQLite / a DuckDB file and the
data as Parquet under `PIPELINE_LAKE_DATA` (`s3://bucket/prefix/` or a folder). Every process
attaches it on its own connection; DuckLake's catalog transactions let many writers commit.

DuckLake has no PRIMARY KEY / UNIQUE / CHECK constraints, indexes, sequences or list defaults.
So, on this backend only:
- migrations are rewritten: those clauses are dropped and each table's key is remembered;
- `INSERT OR IGNORE`, `INSERT OR REPLACE` and `INSERT ... ON CONFLICT` become `MERGE INTO` on
  that key, so callers keep writing the SQL they write for the DuckDB file.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import duckdb
from tenacity import RetryCallState, Retrying, retry_if_exception

from pipeline.lib import duckdb_extensions, retries

CATALOG_ALIAS = "lake"


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
    options = {"TYPE": "s3"}
    for option, variable in (
        ("KEY_ID", "AWS_ACCESS_KEY_ID"),
        ("SECRET", "AWS_SECRET_ACCESS_KEY"),
        ("SESSION_TOKEN", "AWS_SESSION_TOKEN"),
    ):
        if os.environ.get(variable):
            options[option] = _literal(os.environ[variable])
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    options["REGION"] = _literal(region)
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
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


def attach(conn: duckdb.DuckDBPyConnection, lake: LakeTarget, *, read_only: bool = False) -> None:
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
    if read_only:
        options.append("READ_ONLY")
    if lake.catalog_kind in ("sqlite", "duckdb"):
        catalog_file = lake.url.removeprefix("ducklake:").removeprefix("sqlite:")
        Path(catalog_file).expanduser().parent.mkdir(parents=True, exist_ok=True)
    suffix = f" ({', '.join(options)})" if options else ""
    conn.execute(f"ATTACH {_literal(lake.url)} AS {CATALOG_ALIAS}{suffix}")
    conn.execute(f"USE {CATALOG_ALIAS}")


# --- DDL: what DuckLake cannot hold is dropped, keys are remembered --------------------------

_COMMENT = re.compile(r"--[^\n]*")
_CREATE_TABLE = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([\w.\"]+)\s*\(",
    re.IGNORECASE,
)
_INDEX = re.compile(
    r"^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?[\w\"]+\s+ON\s+([\w.\"]+)\s*\(([^)]*)\)",
    re.IGNORECASE,
)
_ADD_KEY = re.compile(
    r"^\s*ALTER\s+TABLE\s+([\w.\"]+)\s+ADD\s+(?:CONSTRAINT\s+\w+\s+)?(?:PRIMARY\s+KEY|UNIQUE)\s*\(([^)]*)\)",
    re.IGNORECASE,
)
_LIST_DEFAULT = re.compile(r"\s+DEFAULT\s+(?:\[[^\]]*\]|list_value\([^)]*\))", re.IGNORECASE)
_INLINE_KEY = re.compile(r"\s+(PRIMARY\s+KEY|UNIQUE)\b", re.IGNORECASE)


def _split_top_level(text: str, separator: str) -> list[str]:
    parts, depth, quoted, current = [], 0, False, []
    for char in text:
        if char == "'":
            quoted = not quoted
        elif not quoted and char in "([":
            depth += 1
        elif not quoted and char in ")]":
            depth -= 1
        if char == separator and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _name(identifier: str) -> str:
    return identifier.replace('"', "").strip().lower()


def _columns(text: str) -> tuple[str, ...]:
    return tuple(_name(c) for c in text.split(",") if c.strip())


def _drop_check(definition: str) -> str:
    match = re.search(r"\s+CHECK\s*\(", definition, re.IGNORECASE)
    if not match:
        return definition
    depth, end = 0, match.end() - 1
    for end in range(match.end() - 1, len(definition)):
        depth += {"(": 1, ")": -1}.get(definition[end], 0)
        if depth == 0:
            break
    return definition[: match.start()] + definition[end + 1 :]


def _rewrite_create_table(statement: str, keys: dict[str, tuple[str, ...]]) -> str:
    head = _CREATE_TABLE.match(statement)
    table = _name(head.group(1))
    close = statement.rindex(")")
    items = []
    for item in _split_top_level(statement[head.end() : close], ","):
        stripped = item.strip()
        if re.match(r"(PRIMARY\s+KEY|UNIQUE)\s*\(", stripped, re.IGNORECASE):
            keys.setdefault(
                table, _columns(stripped[stripped.index("(") + 1 : stripped.rindex(")")])
            )
            continue
        if re.match(r"(CHECK\s*\(|FOREIGN\s+KEY\b|CONSTRAINT\s)", stripped, re.IGNORECASE):
            continue
        if _INLINE_KEY.search(item):
            keys.setdefault(table, (_name(stripped.split()[0]),))
            item = _INLINE_KEY.sub("", item)
        item = _drop_check(_LIST_DEFAULT.sub("", item))
        item = re.sub(r"\s+REFERENCES\s+[\w.\"]+\s*(\([^)]*\))?", "", item, flags=re.IGNORECASE)
        items.append(item)
    return statement[: head.end()] + ",".join(items) + statement[close:]


def translate_ddl(sql: str) -> tuple[str, dict[str, tuple[str, ...]]]:
    """A migration as DuckLake takes it, and the key of every table it declares one for."""
    keys: dict[str, tuple[str, ...]] = {}
    statements = []
    for statement in _split_top_level(_COMMENT.sub("", sql), ";"):
        if not statement.strip():
            continue
        if _CREATE_TABLE.match(statement):
            statements.append(_rewrite_create_table(statement, keys))
        elif index := _INDEX.match(statement):
            if index.group(1):
                keys.setdefault(_name(index.group(2)), _columns(index.group(3)))
        elif added := _ADD_KEY.match(statement):
            keys.setdefault(_name(added.group(1)), _columns(added.group(2)))
        elif re.match(r"^\s*CREATE\s+SEQUENCE", statement, re.IGNORECASE):
            raise LakeConfigError(f"DuckLake has no sequences: {statement.strip()[:80]}")
        else:
            statements.append(_LIST_DEFAULT.sub("", statement))
    return ";\n".join(statements) + ";", keys


_keys_lock = threading.Lock()
_known_keys: dict[str, tuple[str, ...]] | None = None


def table_keys() -> dict[str, tuple[str, ...]]:
    """Every table's key as the migrations declare it (what the DuckDB file enforces)."""
    global _known_keys
    with _keys_lock:
        if _known_keys is None:
            from pipeline.lib.warehouse import META_DDL, available_migrations

            keys = translate_ddl(META_DDL)[1]
            for migration in available_migrations():
                for table, columns in translate_ddl(migration.sql)[1].items():
                    keys.setdefault(table, columns)
            _known_keys = keys
        return _known_keys


# --- DML: upserts become MERGE on the remembered key ------------------------------------------

_UPSERT = re.compile(
    r"^\s*INSERT\s+(?:OR\s+(?P<or>IGNORE|REPLACE)\s+)?INTO\s+(?P<table>[\w.\"]+)\s*"
    r"(?:\((?P<cols>[^()]*)\)\s*)?(?P<body>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_ON_CONFLICT = re.compile(
    r"\s+ON\s+CONFLICT\s*(?:\((?P<target>[^)]*)\)\s*)?DO\s+(?P<action>NOTHING|UPDATE\s+SET\s+)",
    re.IGNORECASE,
)
_RETURNING = re.compile(r"\s+RETURNING\s+(?P<returning>[^;]*?)\s*;?\s*$", re.IGNORECASE | re.DOTALL)
_INCOMING = "__incoming"


def _incoming(column: str) -> str:
    return f'"__in_{column}"'


def translate_dml(sql: str, table_columns) -> str:
    """`sql` with any upsert form rewritten as MERGE INTO; other statements unchanged.
    `table_columns(table)` gives a table's columns in order (for INSERT without a column list)."""
    head = sql.lstrip()[:40].upper()
    if not head.startswith("INSERT"):
        return sql
    match = _UPSERT.match(sql)
    if not match:
        return sql
    body = match.group("body")
    conflict = _ON_CONFLICT.search(body)
    mode = (match.group("or") or "").upper()
    if not mode and not conflict:
        return sql
    table = _name(match.group("table"))
    returning = ""
    if found := _RETURNING.search(body):
        returning = f" RETURNING {found.group('returning')}"
        body = body[: found.start()]
    assignments = None
    if conflict:
        source = body[: conflict.start()]
        if conflict.group("action").upper().startswith("UPDATE"):
            assignments = body[conflict.end() :].strip().rstrip(";")
            mode = "UPDATE"
        else:
            mode = "IGNORE"
        key = _columns(conflict.group("target")) if conflict.group("target") else None
    else:
        source = body.strip().rstrip(";")
        key = None
    key = key or table_keys().get(table)
    if not key:
        raise LakeConfigError(
            f"{table} has no key in the migrations, so an upsert into it cannot run on DuckLake"
        )
    columns = _columns(match.group("cols")) if match.group("cols") else tuple(table_columns(table))
    source = source.strip()
    if source.upper().startswith("VALUES"):
        source = f"SELECT * FROM ({source})"
    renamed = ", ".join(_incoming(c) for c in columns)
    key_incoming = ", ".join(_incoming(c) for c in key)
    merged = (
        f"MERGE INTO {match.group('table')} USING ("
        f"SELECT DISTINCT ON ({key_incoming}) * FROM ({source}) AS __raw({renamed})"
        f") AS {_INCOMING} ON ("
        + " AND ".join(f'{match.group("table")}."{c}" = {_INCOMING}.{_incoming(c)}' for c in key)
        + ")"
    )
    if mode == "REPLACE":
        updates = ", ".join(f'"{c}" = {_INCOMING}.{_incoming(c)}' for c in columns if c not in key)
        if updates:
            merged += f" WHEN MATCHED THEN UPDATE SET {updates}"
    elif mode == "UPDATE":
        where = re.split(r"\s+WHERE\s+", assignments, maxsplit=1, flags=re.IGNORECASE)
        set_clause = re.sub(
            r"\bexcluded\.\"?(\w+)\"?",
            lambda m: f"{_INCOMING}.{_incoming(m.group(1).lower())}",
            where[0],
            flags=re.IGNORECASE,
        )
        condition = f" AND ({where[1]})" if len(where) > 1 else ""
        merged += f" WHEN MATCHED{condition} THEN UPDATE SET {set_clause}"
    merged += (
        f" WHEN NOT MATCHED THEN INSERT ({', '.join(chr(34) + c + chr(34) for c in columns)})"
        f" VALUES ({', '.join(f'{_INCOMING}.{_incoming(c)}' for c in columns)})"
    )
    return merged + returning


# Another writer changed the same data since we began; or, with a SQLite catalog, held its lock.
_CONFLICTS = ("transaction conflict", "database is locked")
MAX_REPLAYS = 8


def is_conflict(error: BaseException) -> bool:
    """DuckLake refused a commit because of another writer; doing it again can succeed."""
    return isinstance(error, duckdb.Error) and any(c in str(error).lower() for c in _CONFLICTS)


class LakeConnection:
    """A DuckDB connection attached to the lake. It rewrites upserts (see the module docstring)
    and resolves write conflicts between processes optimistically: DuckLake refuses a commit
    when another writer deleted from the same data file meanwhile, so the statements of the
    refused transaction are replayed on the new snapshot and committed again. (They are SQL, so
    they re-read what they depend on; callers do not decide on data read inside a transaction
    and then write it back from Python.) Everything else is the DuckDBPyConnection's."""

    def __init__(self, conn: duckdb.DuckDBPyConnection):
        self._conn = conn
        self._columns: dict[str, list[str]] = {}
        self._transaction: list[tuple] | None = None

    def _table_columns(self, table: str) -> list[str]:
        if table not in self._columns:
            schema, _, name = table.rpartition(".")
            rows = self._conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?"
                " ORDER BY ordinal_position",
                [schema or "main", name],
            ).fetchall()
            self._columns[table] = [row[0].lower() for row in rows]
        return self._columns[table]

    def _translate(self, sql):
        return translate_dml(sql, self._table_columns) if isinstance(sql, str) else sql

    def _conflict_replays(self) -> Retrying:
        """Tries again after a conflict, rolling the refused transaction back before the wait."""
        return retries.retrying(
            retry=retry_if_exception(is_conflict),
            attempts=MAX_REPLAYS + 1,
            first_s=0.05,
            jitter=(0.5, 1.5),
            before_sleep=self._roll_back,
        )

    def _roll_back(self, _state: RetryCallState) -> None:
        with contextlib.suppress(duckdb.Error):
            self._conn.execute("ROLLBACK")

    def _commit(self) -> None:
        statements, self._transaction = self._transaction or [], None
        for attempt in self._conflict_replays():
            with attempt:
                if attempt.retry_state.attempt_number > 1:  # replay on the new snapshot
                    self._conn.execute("BEGIN TRANSACTION")
                    for method, query, parameters in statements:
                        getattr(self._conn, method)(query, parameters)
                self._conn.execute("COMMIT")

    def _run(self, method: str, query, parameters) -> None:
        keyword = query.lstrip()[:8].upper() if isinstance(query, str) else ""
        if keyword.startswith("BEGIN"):
            self._transaction = []
        elif keyword.startswith("COMMIT"):
            self._commit()
            return
        elif keyword.startswith(("ROLLBACK", "ABORT")):
            self._transaction = None
        else:
            query = self._translate(query)
            if self._transaction is not None:
                self._transaction.append((method, query, parameters))
            else:
                # One statement in autocommit: its own transaction, replayed the same way.
                for attempt in self._conflict_replays():
                    with attempt:
                        getattr(self._conn, method)(query, parameters)
                return
        getattr(self._conn, method)(query, parameters)

    def execute(self, query, parameters=None):
        self._run("execute", query, parameters)
        return self

    def executemany(self, query, parameters=None):
        self._run("executemany", query, parameters)
        return self

    def sql(self, query, *args, **kwargs):
        return self._conn.sql(self._translate(query), *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._conn.close()
