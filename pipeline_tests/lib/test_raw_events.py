import datetime as dt

from pipeline.lib import warehouse
from pipeline.lib.raw_events import RawEvent, SourceFetch, insert_events, record_fetch


def event(payload, **kwargs):
    return RawEvent(
        kind="grant",
        provider="sample",
        payload=payload,
        is_sample=True,
        partition_date=dt.date(2026, 3, 1),
        **kwargs,
    )


def test_same_payload_is_stored_once_whatever_the_key_order(warehouse_path):
    with warehouse.connection(warehouse_path) as conn:
        assert insert_events(conn, [event({"a": 1, "b": 2}), event({"b": 2, "a": 1})]) == 1
        assert insert_events(conn, [event({"a": 1, "b": 2}), event({"a": 2})]) == 1
        assert insert_events(conn, []) == 0
        rows = conn.execute(
            "SELECT kind, provider, is_sample, payload->>'a' FROM raw.events ORDER BY 4"
        ).fetchall()
    assert rows == [("grant", "sample", True, "1"), ("grant", "sample", True, "2")]


def test_scope_separates_identical_payloads(warehouse_path):
    with warehouse.connection(warehouse_path) as conn:
        assert (
            insert_events(
                conn, [event({"a": 1}, scope="client-1"), event({"a": 1}, scope="client-2")]
            )
            == 2
        )


def test_fetch_outcomes_are_recorded(warehouse_path):
    now = dt.datetime.now(dt.UTC)
    with warehouse.connection(warehouse_path) as conn:
        record_fetch(
            conn, SourceFetch("news", "newsapi", False, now.date(), now, "error", error="HTTP 429")
        )
        assert conn.execute("SELECT status, error FROM raw.source_fetches").fetchall() == [
            ("error", "HTTP 429")
        ]
