"""Scoring tests build their own upstream tables (core.grants, core.organizations,
core.crm_clients, core.client_news) with the columns agreed in COMMON.md, so they do not wait
for the grants and news domains."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from pipeline.lib import merge, warehouse
from pipeline.lib.hashing import content_hash

PARTITION = "2026-03-02"
PARTITION_DATE = dt.date(2026, 3, 2)
NOW = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)

UPSTREAM_DDL = {
    "core.grants": """CREATE TABLE IF NOT EXISTS core.grants (
        grant_id VARCHAR PRIMARY KEY, opportunity_number VARCHAR, title VARCHAR, agency VARCHAR,
        description VARCHAR, eligibility VARCHAR, close_date DATE, posted_date DATE,
        award_floor DOUBLE, award_ceiling DOUBLE, url VARCHAR, provider VARCHAR,
        is_sample BOOLEAN, content_hash VARCHAR, first_seen_at TIMESTAMPTZ,
        updated_at TIMESTAMPTZ, partition_date DATE)""",
    "core.organizations": """CREATE TABLE IF NOT EXISTS core.organizations (
        org_id VARCHAR PRIMARY KEY, tenant_id VARCHAR, name VARCHAR, mission VARCHAR,
        focus_areas VARCHAR[], keywords VARCHAR[], eligibility_type VARCHAR, geography VARCHAR,
        budget_min DOUBLE, budget_max DOUBLE, completeness DOUBLE, is_matchable BOOLEAN,
        missing VARCHAR[], profile_hash VARCHAR, contact_email VARCHAR, is_sample BOOLEAN)""",
    "core.crm_clients": """CREATE TABLE IF NOT EXISTS core.crm_clients (
        client_id VARCHAR PRIMARY KEY, tenant_id VARCHAR, name VARCHAR, aliases VARCHAR[],
        domain VARCHAR, owner_email VARCHAR, provider VARCHAR, is_sample BOOLEAN,
        synced_at TIMESTAMPTZ)""",
    "core.client_news": """CREATE TABLE IF NOT EXISTS core.client_news (
        client_id VARCHAR, tenant_id VARCHAR, article_id VARCHAR, url VARCHAR,
        canonical_url VARCHAR, title VARCHAR, description VARCHAR, source_name VARCHAR,
        provider VARCHAR, published_at TIMESTAMPTZ, content_hash VARCHAR,
        near_duplicate_of VARCHAR, is_sample BOOLEAN, partition_date DATE, simhash UBIGINT,
        PRIMARY KEY (client_id, article_id))""",
}

GRANTS = [
    {
        "grant_id": "G-EDU",
        "title": "Youth STEM Education and After-School Literacy Programs",
        "agency": "Department of Education",
        "description": "Supports after-school programs that improve literacy and STEM education "
        "for low-income youth in underserved communities.",
        "eligibility": "Nonprofits having a 501(c)(3) status with the IRS",
        "close_date": dt.date(2099, 6, 30),
        "award_floor": 50_000.0,
        "award_ceiling": 250_000.0,
    },
    {
        "grant_id": "G-HEALTH",
        "title": "Rural Hospital Cardiology Research Infrastructure",
        "agency": "National Institutes of Health",
        "description": "Funds clinical cardiology research infrastructure at rural hospitals.",
        "eligibility": "Institutions of higher education; state governments",
        "close_date": dt.date(2099, 5, 1),
        "award_floor": 1_000_000.0,
        "award_ceiling": 5_000_000.0,
    },
    {
        "grant_id": "G-CLOSED",
        "title": "Youth Literacy Education Program (closed)",
        "agency": "Department of Education",
        "description": "After-school literacy education for youth.",
        "eligibility": "Nonprofits",
        "close_date": dt.date(2020, 1, 1),
        "award_floor": 10_000.0,
        "award_ceiling": 100_000.0,
    },
]

ORGS = [
    {
        "org_id": "org-learn",
        "tenant_id": "tenant-a",
        "name": "Bright Futures Learning",
        "mission": "We run after-school literacy and STEM programs for low-income youth.",
        "focus_areas": ["youth education", "literacy"],
        "keywords": ["STEM", "after-school"],
        "eligibility_type": "nonprofit",
        "geography": "Ohio",
        "budget_min": 25_000.0,
        "budget_max": 300_000.0,
        "is_matchable": True,
    },
    {
        "org_id": "org-heart",
        "tenant_id": "tenant-b",
        "name": "Heartland Cardiology Institute",
        "mission": "Cardiology research at rural hospitals.",
        "focus_areas": ["cardiology", "rural health"],
        "keywords": ["hospital", "clinical research"],
        "eligibility_type": "higher_education",
        "geography": "Iowa",
        "budget_min": 500_000.0,
        "budget_max": 6_000_000.0,
        "is_matchable": True,
    },
    {
        "org_id": "org-draft",
        "tenant_id": "tenant-a",
        "name": "Draft Org",
        "mission": "",
        "focus_areas": [],
        "keywords": [],
        "eligibility_type": None,
        "geography": None,
        "budget_min": None,
        "budget_max": None,
        "is_matchable": False,
    },
]

CLIENTS = [
    {
        "client_id": "c-acme",
        "tenant_id": "tenant-a",
        "name": "Acme Robotics Inc.",
        "aliases": ["Acme"],
        "domain": "acmerobotics.com",
    },
    {
        "client_id": "c-globex",
        "tenant_id": "tenant-b",
        "name": "Globex Corporation",
        "aliases": [],
        "domain": "globex.com",
    },
]

NEWS = [
    {
        "client_id": "c-acme",
        "tenant_id": "tenant-a",
        "article_id": "a1",
        "title": "Acme Robotics agrees to acquire Initech in $2 billion deal",
        "description": "The merger creates the largest warehouse automation vendor. "
        "Regulators are expected to review the acquisition.",
    },
    {
        "client_id": "c-acme",
        "tenant_id": "tenant-a",
        "article_id": "a2",
        "title": "Ten gardening tips for spring",
        "description": "Plant tomatoes after the last frost. Water early in the morning.",
    },
    {
        "client_id": "c-globex",
        "tenant_id": "tenant-b",
        "article_id": "a3",
        "title": "Globex names new chief executive as CEO steps down",
        "description": "Globex Corporation appointed Jane Doe as CEO after the founder resigned.",
    },
    {
        # A news row that claims another tenant than its client's: must never be paired.
        "client_id": "c-globex",
        "tenant_id": "tenant-a",
        "article_id": "a4",
        "title": "Globex recalls devices after battery fires",
        "description": "A recall of two million devices.",
    },
]


def _frame(rows: list[dict], **defaults) -> pl.DataFrame:
    return pl.DataFrame([{**defaults, **row} for row in rows])


_replaced: set[tuple[str, str]] = set()


def seed(path: Path, table: str, rows: list[dict]) -> None:
    """Insert rows into an upstream table of the agreed shape. The first seed of a table in a
    warehouse replaces whatever the upstream domain's migration created, so these tests do
    not break when that domain adds NOT NULL columns of its own."""
    with warehouse.connection(path) as conn:
        if (str(path), table) not in _replaced:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            _replaced.add((str(path), table))
        conn.execute(UPSTREAM_DDL[table])
        if rows:
            merge.upsert(conn, table, pl.DataFrame(rows))


def seed_grants(path: Path, rows=None, partition: dt.date = PARTITION_DATE) -> None:
    rows = GRANTS if rows is None else rows
    seed(
        path,
        "core.grants",
        [
            {
                "url": f"https://example.org/{r['grant_id']}",
                "provider": "test",
                "is_sample": True,
                "partition_date": partition,
                **r,
            }
            for r in rows
        ],
    )


def seed_orgs(path: Path, rows=None) -> None:
    seed(
        path,
        "core.organizations",
        [{"is_sample": True, **r} for r in (ORGS if rows is None else rows)],
    )


def seed_clients(path: Path, rows=None) -> None:
    seed(
        path,
        "core.crm_clients",
        [
            {"provider": "csv", "is_sample": True, "synced_at": NOW, **r}
            for r in (CLIENTS if rows is None else rows)
        ],
    )


def seed_news(path: Path, rows=None, partition: dt.date = PARTITION_DATE) -> None:
    seed(
        path,
        "core.client_news",
        [
            {
                "url": f"https://news.example/{r['article_id']}",
                "canonical_url": f"https://news.example/{r['article_id']}",
                "content_hash": content_hash([r["title"], r["description"]]),
                "simhash": 0,
                "source_name": "Example News",
                "provider": "test",
                "is_sample": True,
                "partition_date": partition,
                **r,
            }
            for r in (NEWS if rows is None else rows)
        ],
    )


@pytest.fixture
def seeded_warehouse(warehouse_path: Path) -> Path:
    seed_grants(warehouse_path)
    seed_orgs(warehouse_path)
    seed_clients(warehouse_path)
    seed_news(warehouse_path)
    return warehouse_path
