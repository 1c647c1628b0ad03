"""One warehouse, two backends: the same migrations and SQL give the same tables and rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from pipeline.defs.shared.resources import warehouse_resource
from pipeline.lib import duckdb_extensions, lake, lake_ddl, merge, warehouse

DAY = ["datasource", "order_date"]


def _columns(conn) -> list[tuple]:
    return conn.execute(
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_catalog = current_database() ORDER BY ALL"
    ).fetchall()


BACKEND_DESCRIPTIONS = {
    "file": "warehouse.duckdb",
    "sqlite_lake": "ducklake:sqlite:",
    "postgres_lake": "ducklake:postgres:",
}


def test_every_backend_gets_the_same_schemas_tables_and_columns(tmp_path, any_backend):
    with warehouse.connection(tmp_path / "reference.duckdb") as conn:
        expected = _columns(conn)
    resource = warehouse_resource()
    description = BACKEND_DESCRIPTIONS[any_backend]
    assert description in resource.describe()
    with resource.get_connection() as conn:
        assert isinstance(conn, lake.LakeConnection) == (any_backend != "file")
        assert _columns(conn) == expected
        assert warehouse.schema_version(conn) == max(
            m.version for m in warehouse.available_migrations()
        )


SCORE_CACHE_COLUMNS = [
    "cache_key",
    "kind",
    "item_hash",
    "profile_hash",
    "model",
    "prompt_version",
    "output",
    "prompt_tokens",
    "completion_tokens",
    "created_at",
]
FETCH_COLUMNS = ["fetch_id", "kind", "provider", "is_sample", "partition_date", "started_at"]
FETCH_COLUMNS += ["finished_at", "status"]
SOURCE_COLUMNS = ["provider", "source_id", "grant_id", "content_hash", "is_sample"]
SOURCE_COLUMNS += ["first_seen_at", "last_seen_at", "partition_date"]
UPSERTS = [
    # (statement, parameters): every kind of upsert the code base writes.
    (merge.merge_sql("sales.dirty_days", DAY, "VALUES (?, DATE '2024-01-01')"), ["a"]),
    (
        merge.merge_sql(
            "sales.dirty_days",
            DAY,
            "SELECT 'a', DATE '2024-01-01' UNION ALL SELECT 'a', DATE '2024-01-02'",
        ),
        None,
    ),
    (
        "INSERT INTO ai.score_cache (cache_key, kind, item_hash, profile_hash, model, prompt_version,"
        " output, prompt_tokens, completion_tokens, created_at) VALUES"
        " ('k1', 'grant', 'i', 'p', 'm', 'v1', '{}', 1, 2, TIMESTAMPTZ '2024-01-01 00:00:00+00')",
        None,
    ),
    (
        merge.merge_sql(
            "ai.score_cache",
            SCORE_CACHE_COLUMNS,
            "VALUES ('k1', 'news', 'i', 'p', 'm', 'v2', '{\"a\": 1}', 3, 4,"
            " TIMESTAMPTZ '2024-01-02 00:00:00+00'),"
            " ('k2', 'grant', 'i', 'p', 'm', 'v1', '{}', 1, 1, TIMESTAMPTZ '2024-01-02 00:00:00+00')",
            update=merge.REPLACE,
        ),
        None,
    ),
    (
        merge.merge_sql(
            "raw.source_fetches",
            FETCH_COLUMNS,
            "VALUES (?, 'grant', 'p', true, DATE '2024-01-01', now(), now(), 'ok')",
        ),
        ["f1"],
    ),
    (
        merge.merge_sql(
            "raw.source_fetches",
            FETCH_COLUMNS,
            "VALUES (?, 'grant', 'p', true, DATE '2024-01-01', now(), now(), 'error')",
        ),
        ["f1"],
    ),
    (
        merge.merge_sql(
            "core.grant_sources",
            SOURCE_COLUMNS,
            "VALUES ('p', 's', 'g1', 'h1', true, TIMESTAMPTZ '2024-01-01 00:00:00+00',"
            " TIMESTAMPTZ '2024-01-05 00:00:00+00', DATE '2024-01-01')",
            update="grant_id = incoming.grant_id",
        ),
        None,
    ),
    (
        merge.merge_sql(
            "core.grant_sources",
            SOURCE_COLUMNS,
            "VALUES ('p', 's', 'g2', 'h2', true, TIMESTAMPTZ '2024-01-02 00:00:00+00',"
            " TIMESTAMPTZ '2024-01-03 00:00:00+00', DATE '2024-01-02')",
            update="grant_id = incoming.grant_id, content_hash = incoming.content_hash,"
            " last_seen_at = greatest(existing.last_seen_at, incoming.last_seen_at)",
        ),
        None,
    ),
]
TABLES = ["sales.dirty_days", "ai.score_cache", "raw.source_fetches", "core.grant_sources"]


def _apply_upserts(conn) -> dict[str, list]:
    for statement, parameters in UPSERTS:
        conn.execute(statement, parameters)
    conn.execute(
        merge.merge_sql(
            "sales.dirty_days", DAY, "VALUES ('b', DATE '2024-01-01'), ('a', DATE '2024-01-01')"
        )
    )
    result = {
        t: conn.execute(
            f"SELECT * EXCLUDE (started_at, finished_at) FROM {t} ORDER BY ALL"
            if t == "raw.source_fetches"
            else f"SELECT * FROM {t} ORDER BY ALL"
        ).fetchall()
        for t in TABLES
    }
    return result


@pytest.mark.server
@pytest.mark.parametrize("lake_fixture", ["sqlite_lake", "postgres_lake"])
def test_upserts_leave_the_same_rows_on_both_backends(tmp_path, request, lake_fixture):
    with warehouse.connection(tmp_path / "reference.duckdb") as conn:
        expected = _apply_upserts(conn)
    assert ("b", dt.date(2024, 1, 1), None) in expected["sales.dirty_days"]
    request.getfixturevalue(lake_fixture)
    with warehouse_resource().get_connection() as conn:
        assert _apply_upserts(conn) == expected


def test_a_merge_into_a_table_without_a_key_is_refused():
    with pytest.raises(LookupError, match="declares no key"):
        merge.merge_sql("sales.rejects", ["source_file"], "VALUES ('x')")


def test_lake_ddl_leaves_out_what_ducklake_cannot_hold_and_the_keys_stay_declared():
    earlier = ["CREATE SCHEMA x; CREATE TABLE x.old (id VARCHAR PRIMARY KEY)"]
    sql = lake_ddl.schema_ddl(
        "-- a PRIMARY KEY in a comment is not a key\n"
        "CREATE TABLE x.a (id VARCHAR PRIMARY KEY, tags VARCHAR[] NOT NULL DEFAULT [],"
        " n INTEGER CHECK (n > (0)) DEFAULT 1);\n"
        "CREATE TABLE IF NOT EXISTS x.b (k1 VARCHAR, k2 DATE, PRIMARY KEY (k1, k2));\n"
        "ALTER TABLE x.old ADD COLUMN note VARCHAR DEFAULT 'none';",
        earlier,
    )
    assert "PRIMARY" not in sql.upper() and "CHECK" not in sql.upper()
    assert "DEFAULT 1" in sql and "DEFAULT []" not in sql and "NOT NULL" in sql
    assert "CREATE TABLE x.old" not in sql and "ADD COLUMN" in sql and "'none'" in sql
    with duckdb.connect() as conn:
        conn.execute(earlier[0].replace(" PRIMARY KEY", ""))
        conn.execute(sql)
        assert warehouse.table_exists(conn, "x.b")
        assert merge.key_constraints(conn) == {}
    with merge.declared_schema(
        [earlier[0], "CREATE TABLE x.b (k1 VARCHAR, k2 DATE, PRIMARY KEY (k1, k2))"]
    ) as declared:
        assert merge.key_constraints(declared) == {"x.old": ("id",), "x.b": ("k1", "k2")}


def test_extensions_load_from_the_packaged_files_only(tmp_path):
    import duckdb

    config = duckdb_extensions.connection_config()
    assert config["autoinstall_known_extensions"] is False
    with duckdb.connect(config=config) as conn:
        for name in ("ducklake", "postgres_scanner", "sqlite_scanner", "httpfs"):
            duckdb_extensions.load(conn, name)
        loaded = dict(
            conn.execute(
                "SELECT extension_name, install_path FROM duckdb_extensions() WHERE loaded"
            ).fetchall()
        )
    assert {"ducklake", "postgres_scanner", "sqlite_scanner", "httpfs"} <= set(loaded)
    # Each came from the folder of packaged files, none from DuckDB's download cache.
    packaged = duckdb_extensions.extension_directory().resolve()
    for name in duckdb_extensions.PACKAGED:
        install_path = Path(loaded[name])
        assert install_path.is_relative_to(packaged), (name, install_path)
        package = duckdb_extensions.PACKAGED[name][0].replace("-", "_")
        assert package in install_path.resolve().parts, (name, install_path.resolve())


def test_a_missing_extension_package_is_named(monkeypatch, sqlite_lake):
    monkeypatch.setitem(
        duckdb_extensions.PACKAGED, "ducklake", ("duckdb-extension-not-installed", "ducklake")
    )
    with pytest.raises(
        duckdb_extensions.ExtensionMissingError,
        match=r"pip install duckdb-extension-not-installed==1\.5\.5",
    ):
        warehouse.open_connection(warehouse_resource().backend)


def test_lake_description_hides_the_catalog_password():
    target = lake.target("ducklake:postgres:dbname=lake host=db password=hunter2 user=u", "s3://b/")
    assert "hunter2" not in target.describe()
    uri = lake.target("ducklake:postgres:postgresql://u:hunter2@db/lake", "s3://b/")
    assert "hunter2" not in uri.describe()


@pytest.mark.server
def test_backup_of_the_file_restores_into_the_lake_and_back(
    pipeline_env, tmp_path, postgres_lake, monkeypatch
):
    from pipeline.lib import backup as backups

    monkeypatch.setenv("PIPELINE_WAREHOUSE", str(pipeline_env / "warehouse.duckdb"))
    with warehouse_resource().get_connection() as conn:
        for statement, parameters in UPSERTS:
            conn.execute(statement, parameters)
        expected = {t: conn.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}
    backups.backup(warehouse_resource().backend, tmp_path / "from_file")
    first_day = backups.first_partition_date(warehouse_resource().backend)

    monkeypatch.setenv("PIPELINE_WAREHOUSE", postgres_lake)
    lake_resource = warehouse_resource()
    backups.restore(tmp_path / "from_file", lake_resource.backend)
    assert first_day is not None
    assert backups.first_partition_date(lake_resource.backend) == first_day
    with lake_resource.get_connection(read_only=True) as conn:
        assert {
            t: conn.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES
        } == expected
    with pytest.raises(backups.BackupError, match="already holds data"):
        backups.restore(tmp_path / "from_file", lake_resource.backend)

    manifest = backups.backup(lake_resource.backend, tmp_path / "from_lake")
    assert manifest.source.startswith("ducklake:postgres:")
    restored_file = tmp_path / "restored.duckdb"
    backups.restore(tmp_path / "from_lake", restored_file)
    with warehouse.connection(restored_file, read_only=True) as conn:
        assert {
            t: conn.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES
        } == expected
    # The file got its keys from the migrations, not from the lake's keyless tables.
    with warehouse.connection(restored_file) as conn:
        conn.execute(UPSERTS[3][0])
        assert warehouse.scalar(conn, "SELECT count(*) FROM ai.score_cache") == 2


@pytest.mark.server
def test_a_transaction_refused_for_a_conflicting_writer_is_replayed(postgres_lake):
    resource = warehouse_resource()
    with resource.get_connection() as setup:
        setup.execute(
            "INSERT INTO sales.dirty_days (datasource, order_date)"
            " SELECT 'ds' || (i % 2), DATE '2024-01-01' + i::INTEGER"
            " FROM range(20) t(i)"
        )
    first = warehouse.open_connection(resource.backend)
    second = warehouse.open_connection(resource.backend)
    try:
        first.execute("BEGIN TRANSACTION")
        first.execute("DELETE FROM sales.dirty_days WHERE datasource = 'ds0'")
        first.execute(
            "INSERT INTO sales.dirty_days (datasource, order_date) VALUES ('ds0', DATE '2030-01-01')"
        )
        second.execute("BEGIN TRANSACTION")
        second.execute("DELETE FROM sales.dirty_days WHERE datasource = 'ds1'")
        second.execute("COMMIT")
        first.execute("COMMIT")  # both deleted from the same data file: replayed, not failed
    finally:
        first.close()
        second.close()
    with resource.get_connection(read_only=True) as conn:
        rows = conn.execute("SELECT datasource, order_date FROM sales.dirty_days").fetchall()
    assert rows == [("ds0", dt.date(2030, 1, 1))]


def test_no_code_uses_sql_ducklake_lacks():
    """RETURNING and sequences fail on the DuckLake backend: the code must not rely on them
    (read the row count of UPDATE/DELETE instead). lake.py itself only names them; the
    recipient event store's modules run on SQLite or PostgreSQL, never on the warehouse."""
    import re

    from pipeline.lib.settings import REPO_ROOT

    not_warehouse_sql = {"lake.py", "web_sessions.py", "recipient_events.py"}
    offenders = []
    for path in sorted((REPO_ROOT / "pipeline").rglob("*")):
        if path.suffix not in (".py", ".sql") or path.name in not_warehouse_sql:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#")[0] if path.suffix == ".py" else line.split("--")[0]
            if re.search(r"\bRETURNING\b|\bCREATE\s+SEQUENCE\b|\bnextval\(", code):
                offenders.append(f"{path.relative_to(REPO_ROOT)}:{number}")
    assert not offenders, offenders
