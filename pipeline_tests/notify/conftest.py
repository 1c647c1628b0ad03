"""Notify fixtures: a loopback SMTP server and the SMTP_* variables pointing at it; users from a
test users.yaml, and upstream rows (organisations, CRM clients, grants, news, scores, grant
changes) inserted into the tables the other domains' migrations create."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from pipeline.lib import warehouse
from pipeline.lib.notify import directory
from pipeline.lib.notify.users import load_users_file
from pipeline.lib.settings import settings
from pipeline_tests.fakes.smtp_server import FakeSMTPServer


@pytest.fixture
def smtp_server() -> Iterator[FakeSMTPServer]:
    server = FakeSMTPServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def idle_smtp_server() -> Iterator[FakeSMTPServer]:
    """Bound but not listening: connections are refused until the test starts it."""
    server = FakeSMTPServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def send_alert(pipeline_env):
    """send_operator_alert as a sensor calls it: with the configured warehouse resource."""
    from pipeline.defs.notify.operator_alerts import send_operator_alert
    from pipeline.defs.shared.resources import warehouse_resource

    return functools.partial(send_operator_alert, warehouse=warehouse_resource())


@pytest.fixture
def smtp_env(smtp_server: FakeSMTPServer, pipeline_env, monkeypatch) -> FakeSMTPServer:
    for name, value in smtp_server.env().items():
        monkeypatch.setenv(name, value)
    return smtp_server


# --- upstream rows and users, written into the real migrated tables -------------------------

NOW = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)  # a Monday; 07:00 in New York
TODAY = NOW.date()

USERS_YAML = """
sample: false
defaults:
  timezone: UTC
  threshold: 0.6
  assigned_only: true
  frequency: daily
  digest: {day: mon, hour: 8}
users:
  - email: alice@example.org
    tenant: acme
    org_id: org-acme
    timezone: America/New_York
    threshold: 0.5
    categories: [funding, m_and_a]
    assigned_only: true
    frequency: daily
    watchlists:
      - name: Youth STEM
        include_keywords: [STEM, after-school]
        exclude_keywords: [loan]
        amount_min: 10000
        amount_max: 500000
  - email: bob@example.org
    tenant: acme
    threshold: 0.7
    categories: []
    assigned_only: false
    frequency: instant
  - email: carol@example.org
    tenant: globex
    org_id: org-globex
    timezone: Asia/Tokyo
    threshold: 0.4
    assigned_only: false
    frequency: weekly
    digest: {day: fri, hour: 9}
  - email: dave@example.org
    tenant: globex
    threshold: 0.0
    assigned_only: false
    frequency: instant
  - email: ops@example.org
    tenant: ops
    role: operator
    threshold: 1.0
"""


def _defaults(table: str, row: dict) -> dict:
    partition = row.get("partition_date", TODAY)
    if table == "core.organizations":
        base = {
            "name": row["org_id"],
            "completeness": 1.0,
            "is_matchable": True,
            "profile_hash": "profile",
            "is_sample": False,
            "updated_at": NOW,
        }
    elif table == "core.grants":
        base = {
            "title_key": row["title"].lower(),
            "record_type": "synopsis",
            "status": "posted",
            "provider": "test",
            "providers": ["test"],
            "content_hash": f"content-{row['grant_id']}",
            "url": f"https://grants.example/{row['grant_id']}",
            "is_sample": False,
            "first_seen_at": NOW,
            "updated_at": NOW,
            "partition_date": partition,
        }
    elif table == "core.crm_clients":
        base = {"provider": "csv", "is_sample": False, "synced_at": NOW}
    elif table == "core.client_news":
        url = f"https://news.example/{row['article_id']}"
        base = {
            "url": url,
            "canonical_url": url,
            "content_hash": f"content-{row['article_id']}",
            "simhash": 0,
            "provider": "test",
            "published_at": NOW - dt.timedelta(hours=3),
            "is_sample": False,
            "partition_date": partition,
        }
    elif table == "ai.news_scores":
        base = {
            "category": "funding",
            "summary": "A short summary.",
            "reason": "mentions the client",
            "confidence": 0.9,
            "scorer": "local",
            "lexical_score": 0.5,
            "is_sample": False,
            "partition_date": partition,
            "scored_at": NOW,
        }
    elif table == "ai.grant_matches":
        base = {
            "confidence": 0.9,
            "reasons": ["fits the mission"],
            "scorer": "local",
            "lexical_score": 0.5,
            "is_sample": False,
            "partition_date": partition,
            "scored_at": NOW,
        }
    elif table == "core.grant_changes":
        base = {
            "provider": "test",
            "is_sample": False,
            "partition_date": partition,
            "changed_at": NOW,
        }
    else:
        raise ValueError(f"no defaults for {table}")
    return {**base, **row}


def insert(path: Path, table: str, rows: list[dict]) -> None:
    """Insert rows into an upstream table as its own domain's migration defines it, with
    the NOT NULL columns a test does not care about filled in."""
    full = [_defaults(table, r) for r in rows]
    columns = sorted({c for r in full for c in r})
    frame = pl.DataFrame([{c: r.get(c) for c in columns} for r in full])
    with warehouse.connection(path) as conn:
        warehouse.register_frame(conn, "seed_rows", frame)
        try:
            conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM seed_rows")
        finally:
            warehouse.unregister_frame(conn, "seed_rows")


def add_news(
    path: Path,
    article_id: str,
    client_id: str,
    tenant_id: str,
    title: str,
    relevance: float,
    category: str = "funding",
    scored_at: dt.datetime = NOW,
    **article,
) -> None:
    insert(
        path,
        "core.client_news",
        [
            {
                "article_id": article_id,
                "client_id": client_id,
                "tenant_id": tenant_id,
                "title": title,
                **article,
            }
        ],
    )
    insert(
        path,
        "ai.news_scores",
        [
            {
                "article_id": article_id,
                "client_id": client_id,
                "tenant_id": tenant_id,
                "relevance": relevance,
                "category": category,
                "scored_at": scored_at,
            }
        ],
    )


def add_grant(path: Path, grant_id: str, title: str, **columns) -> None:
    insert(path, "core.grants", [{"grant_id": grant_id, "title": title, **columns}])


def add_match(
    path: Path, org_id: str, grant_id: str, tenant_id: str, score: float, **columns
) -> None:
    insert(
        path,
        "ai.grant_matches",
        [
            {
                "org_id": org_id,
                "grant_id": grant_id,
                "tenant_id": tenant_id,
                "score": score,
                **columns,
            }
        ],
    )


def seed_people(path: Path) -> None:
    """Organisations and CRM clients of two tenants."""
    insert(
        path,
        "core.organizations",
        [
            {"org_id": "org-acme", "tenant_id": "acme"},
            {"org_id": "org-globex", "tenant_id": "globex"},
        ],
    )
    insert(
        path,
        "core.crm_clients",
        [
            {
                "client_id": "acme-north",
                "tenant_id": "acme",
                "name": "Northwind",
                "owner_email": "Alice@Example.org",
            },
            {
                "client_id": "acme-blue",
                "tenant_id": "acme",
                "name": "BluePeak",
                "owner_email": "bob@example.org",
            },
            {
                "client_id": "globex-lumen",
                "tenant_id": "globex",
                "name": "Lumen",
                "owner_email": "carol@example.org",
            },
        ],
    )


@pytest.fixture
def config_dir(pipeline_env: Path, monkeypatch) -> Path:
    """A config dir with the test users.yaml (PIPELINE_CONFIG_DIR points at it)."""
    directory = pipeline_env / "config"
    directory.mkdir()
    (directory / "users.yaml").write_text(USERS_YAML, encoding="utf-8")
    monkeypatch.setenv("PIPELINE_CONFIG_DIR", str(directory))
    return directory


def load_directory(path: Path, config: Path) -> None:
    users_file = load_users_file(config)
    with warehouse.connection(path) as conn:
        directory.write_users(conn, users_file, NOW)
        directory.write_preferences(conn, users_file)
        directory.write_watchlists(conn, users_file)


@pytest.fixture
def world(warehouse_path: Path, config_dir: Path) -> Path:
    """Users loaded, organisations and clients of two tenants seeded; no items yet."""
    seed_people(warehouse_path)
    load_directory(warehouse_path, config_dir)
    return warehouse_path


def rows(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    with warehouse.connection(path) as conn:
        return conn.execute(sql, params or []).fetchall()


def fold(path: Path):
    """Fold the test's recipient event store into the warehouse, as the sensor's run does."""
    from pipeline.lib.notify.event_fold import fold_events
    from pipeline.lib.notify.recipient_events import default_store

    events = default_store()
    try:
        return fold_events(path, events, settings().config_dir)
    finally:
        events.close()


def notify_definitions() -> list:
    """Every asset and check of the notify domain, as `dg.materialize` takes them."""
    import dagster as dg

    from pipeline.defs.notify import assets, checks, recipient_events

    found = []
    for module in (assets, checks, recipient_events):
        for value in vars(module).values():
            candidates = value if isinstance(value, list) else [value]
            for candidate in candidates:
                loadable = isinstance(candidate, dg.AssetsDefinition | dg.AssetChecksDefinition)
                if loadable and all(candidate is not f for f in found):
                    found.append(candidate)
    return found


def materialize(selection, instance, run_config=None, raise_on_error=True):
    import dagster as dg

    from pipeline.defs.shared.resources import warehouse_resource

    return dg.materialize(
        notify_definitions(),
        selection=selection,
        resources={"warehouse": warehouse_resource()},
        instance=instance,
        run_config=run_config or {},
        raise_on_error=raise_on_error,
    )


def as_of(moment: dt.datetime, *assets: str, due_now_only: bool = False) -> dict:
    """Run config evaluating the message assets as of `moment`."""
    config = {"as_of": moment.isoformat()}
    ops = {}
    for name in assets:
        extra = {} if name == "instant_alerts" else {"due_now_only": due_now_only}
        ops[name] = {"config": {**config, **extra}}
    return {"ops": ops}
