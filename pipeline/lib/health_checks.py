"""The data tests behind the reusable asset checks (pipeline.defs.shared.check_builders):
volume against a trailing median, uniqueness, value ranges and shares. Pure: they take a DuckDB
connection or numbers and return a Verdict; the Dagster wrappers turn it into an AssetCheckResult."""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb

from pipeline.lib import warehouse

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


@dataclass(frozen=True)
class Verdict:
    passed: bool
    description: str
    metadata: dict[str, float | int | str | None] = field(default_factory=dict)
    # False when the table to test does not exist yet: reported as a warning whatever the
    # check's severity, since there is nothing wrong with data that was never written.
    table_exists: bool = True


def _identifier(name: str) -> str:
    """Table and column names come from code, never from users; refuse anything else."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


def _missing(table: str) -> Verdict:
    return Verdict(False, f"table {table} does not exist yet", {"table": table}, False)


def _where(where_sql: str | None) -> str:
    return f" WHERE ({where_sql})" if where_sql else ""


def volume_anomaly(
    latest: int | None,
    history: Sequence[int],
    *,
    max_drop: float = 0.5,
    max_rise: float = 3.0,
    min_history: int = 3,
) -> Verdict:
    """Compare the latest row count with the median of the previous ones: fail when it fell by
    more than `max_drop` (0.5 = below half the median) or rose above `max_rise` times it.
    With fewer than `min_history` earlier counts there is no baseline yet: pass."""
    if latest is None:
        return Verdict(True, "no row count recorded yet", {"history": len(history)})
    if len(history) < min_history:
        return Verdict(
            True,
            f"{latest} rows; only {len(history)} earlier counts, need {min_history} for a baseline",
            {"latest": latest, "history": len(history)},
        )
    median = statistics.median(history)
    if median == 0:
        # Mostly-empty history (a new table, or messages that go out only at digest hours): rows
        # arriving are first data, not an anomaly, and a drop below zero cannot happen.
        return Verdict(
            True,
            f"{latest} rows; no baseline yet: the trailing median is 0",
            {"latest": latest, "trailing_median": 0, "history": len(history)},
        )
    ratio = latest / median
    metadata = {
        "latest": latest,
        "trailing_median": median,
        "ratio": round(ratio, 4),
        "history": len(history),
    }
    if ratio < 1 - max_drop:
        return Verdict(
            False, f"{latest} rows is {ratio:.0%} of the trailing median {median:g}", metadata
        )
    if ratio > max_rise:
        return Verdict(
            False, f"{latest} rows is {ratio:.1f}x the trailing median {median:g}", metadata
        )
    return Verdict(True, f"{latest} rows, trailing median {median:g}", metadata)


def volume_anomaly_by_source(
    latest: dict[str, int],
    history: Sequence[dict[str, int]],
    *,
    max_drop: float = 0.5,
    max_rise: float = 3.0,
    min_history: int = 3,
) -> Verdict:
    """volume_anomaly per source (a sales datasource): each source's latest row count against
    its own earlier counts, so a new source starts its own baseline instead of looking like a
    jump of the total. A source missing from `latest` was removed on purpose (e.g. samples):
    not judged. Fails if any source fails."""
    verdicts = {
        source: volume_anomaly(
            count,
            [counts[source] for counts in history if source in counts],
            max_drop=max_drop,
            max_rise=max_rise,
            min_history=min_history,
        )
        for source, count in sorted(latest.items())
    }
    failed = {source: v for source, v in verdicts.items() if not v.passed}
    shown = failed or verdicts
    description = "; ".join(f"{source}: {v.description}" for source, v in shown.items())
    return Verdict(
        not failed,
        description or "no rows yet",
        {"sources": len(verdicts), "failing_sources": ", ".join(failed) or None},
    )


def uniqueness(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    columns: Sequence[str],
    where_sql: str | None = None,
) -> Verdict:
    """No two rows share the values of `columns` (NULLs count as values). Exact, but grouped
    on a 64-bit hash of the key first (a third of the time of grouping on the columns over
    millions of rows): distinct hashes mean distinct keys, and only rows whose hash repeats
    are compared on the key itself."""
    if not warehouse.table_exists(conn, _identifier(table)):
        return _missing(table)
    key = ", ".join(_identifier(c) for c in columns)
    where = _where(where_sql)
    rows, repeated = conn.execute(
        f"SELECT coalesce(sum(n), 0), count(*) FILTER (n > 1) FROM ("
        f"SELECT count(*) AS n FROM {table}{where} GROUP BY hash({key}))"
    ).fetchall()[0]
    metadata = {"rows": int(rows), "duplicates": 0, "key": key}
    if repeated:
        also = f"{where} AND" if where else " WHERE"
        candidates = (
            f"SELECT {key} FROM {table}{also} hash({key}) IN"
            f" (SELECT hash({key}) FROM {table}{where} GROUP BY 1 HAVING count(*) > 1)"
        )
        duplicates, example = conn.execute(
            f"SELECT coalesce(sum(n - 1), 0), min(example) FROM ("
            f"SELECT count(*) AS n, CAST(ROW({key}) AS VARCHAR) AS example"
            f" FROM ({candidates}) GROUP BY {key} HAVING count(*) > 1)"
        ).fetchall()[0]
        metadata["duplicates"] = int(duplicates)
        if duplicates:
            metadata["example"] = example
            return Verdict(
                False, f"{duplicates} duplicate rows on ({key}), e.g. {example}", metadata
            )
    return Verdict(True, f"{rows} rows, unique on ({key})", metadata)


def bounds_text(minimum: float | None, maximum: float | None) -> str:
    """ "within [0, 1]", ">= 0", "<= 1" or "any value": an open bound is not printed."""
    if minimum is not None and maximum is not None:
        return f"within [{minimum:g}, {maximum:g}]"
    if minimum is not None:
        return f">= {minimum:g}"
    return f"<= {maximum:g}" if maximum is not None else "any value"


def value_range(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    column: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    allow_null: bool = True,
    where_sql: str | None = None,
) -> Verdict:
    """Every value of `column` lies within [minimum, maximum] (either bound may be open)."""
    if not warehouse.table_exists(conn, _identifier(table)):
        return _missing(table)
    column = _identifier(column)
    outside = []
    if minimum is not None:
        outside.append(f"{column} < {float(minimum)!r}")
    if maximum is not None:
        outside.append(f"{column} > {float(maximum)!r}")
    if not allow_null:
        outside.append(f"{column} IS NULL")
    bad_sql = " OR ".join(outside) or "false"
    rows, bad, low, high = conn.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {bad_sql}), min({column}), max({column}) "
        f"FROM {table}{_where(where_sql)}"
    ).fetchall()[0]
    bounds = bounds_text(minimum, maximum)
    metadata = {
        "rows": rows,
        "out_of_range": bad,
        "min": None if low is None else float(low),
        "max": None if high is None else float(high),
    }
    if bad:
        return Verdict(False, f"{bad} of {rows} {column} values not {bounds}", metadata)
    return Verdict(True, f"{rows} {column} values {bounds}", metadata)


def share(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    condition_sql: str,
    *,
    max_share: float,
    where_sql: str | None = None,
    min_rows: int = 1,
    label: str = "rows",
) -> Verdict:
    """The share of rows matching `condition_sql` (among rows matching `where_sql`) stays at or
    below `max_share`. Fewer than `min_rows` rows: too little to judge, pass."""
    if not warehouse.table_exists(conn, _identifier(table)):
        return _missing(table)
    rows, matching = conn.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {condition_sql}) FROM {table}{_where(where_sql)}"
    ).fetchall()[0]
    fraction = matching / rows if rows else 0.0
    metadata = {"rows": rows, "matching": matching, "share": round(fraction, 4)}
    metadata["max_share"] = max_share
    if rows < min_rows:
        return Verdict(True, f"only {rows} rows, need {min_rows} to judge {label}", metadata)
    text = f"{matching} of {rows} {label} ({fraction:.0%}, limit {max_share:.0%})"
    return Verdict(fraction <= max_share, text, metadata)
