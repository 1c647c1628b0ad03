"""LakeConnection's replays of statements DuckLake refused for another writer's commit, on a
stand-in connection (the real conflict needs two writers: test_backends.py)."""

import duckdb
import pytest

from pipeline.lib import lake

CONFLICT = "Transaction conflict: another transaction deleted from the same data file"


class RefusingConnection:
    """Records what it runs and refuses `statement` with a conflict the first `times` times."""

    def __init__(self, statement: str, times: int, error: str = CONFLICT):
        self.statement, self.times, self.error = statement, times, error
        self.ran: list[str] = []

    def execute(self, query, parameters=None):
        self.ran.append(query)
        if query == self.statement and self.times:
            self.times -= 1
            raise duckdb.TransactionException(self.error)


def test_a_refused_commit_rolls_back_and_replays_the_transaction():
    conn = RefusingConnection("COMMIT", times=2)
    lake_conn = lake.LakeConnection(conn)
    lake_conn.execute("BEGIN TRANSACTION")
    lake_conn.execute("DELETE FROM t WHERE k = 1")
    lake_conn.execute("COMMIT")
    replay = ["ROLLBACK", "BEGIN TRANSACTION", "DELETE FROM t WHERE k = 1", "COMMIT"]
    assert conn.ran == ["BEGIN TRANSACTION", "DELETE FROM t WHERE k = 1", "COMMIT", *replay * 2]


def test_an_autocommit_statement_gives_up_after_the_last_replay(monkeypatch):
    monkeypatch.setattr(lake, "MAX_REPLAYS", 2)
    conn = RefusingConnection("DELETE FROM t", times=10)
    with pytest.raises(duckdb.TransactionException, match="Transaction conflict"):
        lake.LakeConnection(conn).execute("DELETE FROM t")
    # No rollback after the last refusal: the caller's own ROLLBACK still has a transaction.
    attempt = ["BEGIN TRANSACTION", "DELETE FROM t"]
    assert conn.ran == [*attempt, "ROLLBACK", *attempt, "ROLLBACK", *attempt]


def test_statements_outside_a_transaction_are_committed_together_at_close():
    conn = RefusingConnection("never", times=0)
    conn.close = lambda: conn.ran.append("closed")
    lake_conn = lake.LakeConnection(conn)
    lake_conn.execute("INSERT INTO t VALUES (1)")
    lake_conn.execute("INSERT INTO t VALUES (2)")
    lake_conn.close()
    assert conn.ran == [
        "BEGIN TRANSACTION",
        "INSERT INTO t VALUES (1)",
        "INSERT INTO t VALUES (2)",
        "COMMIT",
        "closed",
    ]


def test_a_failed_statement_keeps_the_ones_before_it_as_autocommit_would():
    conn = RefusingConnection("bad", times=1, error="Binder Error: no such column")
    lake_conn = lake.LakeConnection(conn)
    lake_conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(duckdb.TransactionException, match="no such column"):
        lake_conn.execute("bad")
    lake_conn.execute("BEGIN TRANSACTION")  # the unit is committed before the caller's own
    insert = "INSERT INTO t VALUES (1)"
    assert conn.ran == [
        *["BEGIN TRANSACTION", insert, "bad", "ROLLBACK", "BEGIN TRANSACTION", insert],
        *["COMMIT", "BEGIN TRANSACTION"],
    ]


def test_other_errors_are_not_replayed():
    conn = RefusingConnection("COMMIT", times=1, error="Constraint Error: duplicate key")
    lake_conn = lake.LakeConnection(conn)
    lake_conn.execute("BEGIN TRANSACTION")
    with pytest.raises(duckdb.TransactionException, match="duplicate key"):
        lake_conn.execute("COMMIT")
    assert conn.ran == ["BEGIN TRANSACTION", "COMMIT"]
