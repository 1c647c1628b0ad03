"""`pipeline demo` end to end on the bundled samples, in a temporary warehouse and instance:
every asset materialises, every check runs and no ERROR check fails, grants and matches land in
the warehouse, and a second demo changes no row counts."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.lib import warehouse

# Tables whose size a second demo must not change (the outputs of every domain).
COUNTED_TABLES = [
    "raw.events",
    "core.organizations",
    "core.grants",
    "core.grant_sources",
    "core.grant_changes",
    "core.crm_clients",
    "core.client_news",
    "ai.grant_matches",
    "ai.news_scores",
    "analytics.discovery_trends",
    "sales.transactions",
    "analytics.sales_daily",
    "notify.email_log",
]


def row_counts(path) -> dict[str, int]:
    with warehouse.connection(path, read_only=True) as conn:
        return {t: warehouse.scalar(conn, f"SELECT count(*) FROM {t}") for t in COUNTED_TABLES}


def demo() -> dict:
    result = CliRunner().invoke(main, ["demo", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.slow
def test_demo_twice(pipeline_env, warehouse_path):
    from pipeline.definitions import defs

    first = demo()
    assert first["ok"] and not first["failed_runs"] and not first["failed_error_checks"]
    defined = {
        (key.asset_key.to_user_string(), key.name)
        for checks in defs().asset_checks or []
        for key in checks.check_keys
    }
    ran = {(c["asset"], c["check"]) for c in first["checks"]}
    assert defined == ran, f"checks that did not run: {sorted(defined - ran)}"

    counts = row_counts(warehouse_path)
    assert counts["core.grants"] > 0 and counts["ai.grant_matches"] > 0
    with warehouse.connection(warehouse_path, read_only=True) as conn:
        assert warehouse.scalar(conn, "SELECT bool_and(is_sample) FROM raw.events")
        providers = {
            r[0] for r in conn.execute("SELECT DISTINCT provider FROM core.grants").fetchall()
        }
        assert {"grants_gov_extract", "simpler_grants"} <= providers

    assert sum(first["emails"].values()) > 0
    second = demo()
    assert second["ok"]
    # The second demo reports what it sent or wrote itself: nothing.
    assert second["emails"] == {}
    assert row_counts(warehouse_path) == counts

    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        jobs = {run.job_name for run in instance.get_runs()}
    # Demo runs carry a name per domain a person can find in the UI (demo_news, demo_sales, ...).
    assert all(job.startswith("demo_") for job in jobs), jobs
    assert {"demo_grants", "demo_sales", "demo_health"} <= jobs, jobs

    # The report asset and `pipeline health` tell the same story about every asset.
    result = CliRunner().invoke(main, ["health", "--json"])
    from_cli = {
        a["asset"]: (a["status"], a["checks_passed"]) for a in json.loads(result.stdout)["assets"]
    }
    with warehouse.connection(warehouse_path, read_only=True) as conn:
        reported = conn.execute(
            "SELECT asset, status, checks_passed FROM health.asset_health"
        ).fetchall()
    assert reported and {a: (s, n) for a, s, n in reported} == {
        a: v for a, v in from_cli.items() if a != "health_report"
    }
