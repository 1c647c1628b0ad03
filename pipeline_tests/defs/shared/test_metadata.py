"""The column schema of a contract table carries what each column means."""

import duckdb

from pipeline.defs.shared.metadata import CONTRACT_COLUMNS, table_metadata


def test_contract_table_columns_are_described():
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA core")
    conn.execute(
        "CREATE TABLE core.grants (grant_id VARCHAR, title VARCHAR, agency VARCHAR,"
        " close_date DATE, url VARCHAR, internal_note VARCHAR)"
    )
    columns = {
        c.name: c.description
        for c in table_metadata(conn, "core.grants")["dagster/column_schema"].columns
    }
    assert columns["grant_id"] == CONTRACT_COLUMNS["core.grants"]["grant_id"]
    assert all(columns[name] for name in ("title", "agency", "close_date", "url"))
    assert columns["internal_note"] is None
