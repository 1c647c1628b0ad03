"""Each data test fails on planted bad data and passes on good."""

from __future__ import annotations

import duckdb
import pytest

from pipeline.lib import health_checks


@pytest.fixture
def conn():
    connection = duckdb.connect(":memory:")
    connection.execute("CREATE SCHEMA ai")
    connection.execute(
        "CREATE TABLE ai.scores (client_id VARCHAR, article_id VARCHAR, relevance DOUBLE,"
        " scorer VARCHAR, partition_date DATE)"
    )
    connection.execute(
        "INSERT INTO ai.scores VALUES ('c1', 'a1', 0.1, 'openai', '2026-11-20'),"
        " ('c1', 'a2', 0.9, 'openai', '2026-11-20'), ('c2', 'a1', 0.5, 'local', '2026-11-21'),"
        " ('c2', 'a2', 1.0, 'openai', '2026-11-21')"
    )
    yield connection
    connection.close()


def test_uniqueness(conn):
    good = health_checks.uniqueness(conn, "ai.scores", ["client_id", "article_id"])
    assert good.passed and good.metadata["duplicates"] == 0
    conn.execute("INSERT INTO ai.scores VALUES ('c1', 'a1', 0.3, 'openai', '2026-11-21')")
    bad = health_checks.uniqueness(conn, "ai.scores", ["client_id", "article_id"])
    assert not bad.passed
    assert bad.metadata["duplicates"] == 1
    assert "c1" in bad.description and "a1" in bad.description
    # Scoped to one partition the duplicate is out of sight.
    scoped = health_checks.uniqueness(
        conn, "ai.scores", ["client_id", "article_id"], "partition_date = '2026-11-20'"
    )
    assert scoped.passed


def test_value_range(conn):
    assert health_checks.value_range(conn, "ai.scores", "relevance", minimum=0, maximum=1).passed
    conn.execute("INSERT INTO ai.scores VALUES ('c3', 'a9', 1.7, 'openai', '2026-11-21')")
    conn.execute("INSERT INTO ai.scores VALUES ('c3', 'a8', NULL, 'openai', '2026-11-21')")
    bad = health_checks.value_range(conn, "ai.scores", "relevance", minimum=0, maximum=1)
    assert not bad.passed
    assert bad.description == "1 of 6 relevance values not within [0, 1]"
    assert bad.metadata["max"] == 1.7
    strict = health_checks.value_range(
        conn, "ai.scores", "relevance", minimum=0, maximum=2, allow_null=False
    )
    assert not strict.passed and strict.metadata["out_of_range"] == 1


def test_share(conn):
    fallback = health_checks.share(conn, "ai.scores", "scorer = 'local'", max_share=0.25)
    assert fallback.passed and fallback.metadata["share"] == 0.25
    conn.execute("INSERT INTO ai.scores VALUES ('c3', 'a3', 0.4, 'local', '2026-11-21')")
    too_many = health_checks.share(conn, "ai.scores", "scorer = 'local'", max_share=0.25)
    assert not too_many.passed
    assert "2 of 5" in too_many.description
    few = health_checks.share(conn, "ai.scores", "scorer = 'local'", max_share=0.1, min_rows=10)
    assert few.passed and "only 5 rows" in few.description


def test_missing_table_fails_without_claiming_bad_data(conn):
    verdict = health_checks.uniqueness(conn, "ai.missing", ["id"])
    assert not verdict.passed and not verdict.table_exists


def test_identifiers_are_refused_unless_plain(conn):
    with pytest.raises(ValueError):
        health_checks.uniqueness(conn, "ai.scores; DROP TABLE ai.scores", ["id"])


@pytest.mark.parametrize(
    ("latest", "history", "passed"),
    [
        (100, [100, 98, 103, 101], True),
        (40, [100, 98, 103, 101], False),  # fell to 40% of the median
        (55, [100, 98, 103, 101], True),
        (400, [100, 98, 103, 101], False),  # 4x the median
        # A median of 0 is no baseline: first rows, or messages sent only at digest hours. The
        # soak (2026-12-07) sent a false WARN and its "resolved" for each of three notify assets.
        (5, [0, 0, 0], True),
        (1, [0, 0, 0, 2, 0], True),
        (0, [0, 0, 0], True),
        (9, [0, 2, 2, 3, 0], False),  # 4.5x a median of 2
        (1, [100, 100], True),  # too little history for a baseline
        (None, [], True),
    ],
)
def test_volume_anomaly(latest, history, passed):
    assert health_checks.volume_anomaly(latest, history).passed is passed


def test_volume_anomaly_says_why_there_is_no_baseline():
    verdict = health_checks.volume_anomaly(3, [0, 0, 0])
    assert verdict.description == "3 rows; no baseline yet: the trailing median is 0"


def test_volume_anomaly_describes_the_drop():
    verdict = health_checks.volume_anomaly(40, [100, 98, 103, 101])
    assert verdict.description == "40 rows is 40% of the trailing median 100.5"
    assert verdict.metadata["trailing_median"] == 100.5


def test_uniqueness_counts_null_keys_and_scopes_with_an_or(conn):
    conn.execute(
        "INSERT INTO ai.scores VALUES (NULL, 'a9', 0.2, 'local', '2026-11-22'),"
        " (NULL, 'a9', 0.3, 'local', '2026-11-22'), ('c3', 'a1', 0.4, 'local', '2026-11-23')"
    )
    verdict = health_checks.uniqueness(conn, "ai.scores", ["client_id", "article_id"])
    assert not verdict.passed and verdict.metadata["duplicates"] == 1
    # The scope is one condition, whatever it contains: the OR does not leak out of it.
    scoped = health_checks.uniqueness(
        conn, "ai.scores", ["article_id"], where_sql="scorer = 'local' OR client_id = 'c3'"
    )
    assert not scoped.passed and scoped.metadata["rows"] == 4
    assert scoped.metadata["duplicates"] == 2  # a9 twice, a1 twice (c2/local and c3)
