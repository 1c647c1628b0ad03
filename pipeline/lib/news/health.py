"""News-specific health tests (pure: a DuckDB connection in, a Verdict out)."""

from __future__ import annotations

import datetime as dt

import duckdb

from pipeline.lib.health_checks import Verdict
from pipeline.lib.news.monitoring import MonitoringConfig
from pipeline.lib.warehouse import table_exists


def source_freshness(
    conn: duckdb.DuckDBPyConnection, *, max_age: dt.timedelta, now: dt.datetime
) -> Verdict:
    """Every news provider that was ever called has a successful fetch within `max_age`."""
    if not table_exists(conn, "raw.source_fetches"):
        return Verdict(False, "raw.source_fetches does not exist yet", {}, False)
    rows = conn.execute(
        "SELECT provider, max(finished_at) FILTER (WHERE status = 'ok') FROM raw.source_fetches"
        " WHERE kind = 'news' GROUP BY provider ORDER BY provider"
    ).fetchall()
    if not rows:
        return Verdict(True, "no news source has been called yet", {"providers": 0})
    stale = []
    metadata: dict[str, str | int | None] = {"providers": len(rows)}
    for provider, last_ok in rows:
        metadata[f"last_ok_{provider}"] = last_ok.isoformat() if last_ok else None
        if last_ok is None or now - last_ok > max_age:
            age = (
                "never" if last_ok is None else f"{(now - last_ok).total_seconds() / 3600:.1f}h ago"
            )
            stale.append(f"{provider} (last success {age})")
    if stale:
        return Verdict(
            False,
            f"no successful fetch within {max_age} for: {', '.join(stale)}",
            metadata,
        )
    return Verdict(True, f"every news source succeeded within {max_age}", metadata)


def monitoring_problems(conn: duckdb.DuckDBPyConnection, config: MonitoringConfig) -> Verdict:
    """Errors found while loading monitoring.yaml, plus entries naming clients or tenants the
    warehouse's client list does not have."""
    problems = list(config.errors)
    if table_exists(conn, "core.crm_clients"):
        clients = {
            row[0]: row[1]
            for row in conn.execute("SELECT client_id, tenant_id FROM core.crm_clients").fetchall()
        }
        tenants = set(clients.values())
        for entry in config.entries:
            missing = [c for c in entry.clients if c not in clients]
            if missing:
                problems.append(
                    f"{config.path.name}:{entry.line}: {entry.name}: unknown client(s) {', '.join(missing)}"
                )
            if entry.tenant and entry.tenant not in tenants:
                problems.append(
                    f"{config.path.name}:{entry.line}: {entry.name}: unknown tenant {entry.tenant!r}"
                )
    metadata = {"entries": len(config.entries), "problems": len(problems)}
    if problems:
        return Verdict(False, "; ".join(problems), metadata)
    return Verdict(True, f"{len(config.entries)} monitoring entries, all valid", metadata)
