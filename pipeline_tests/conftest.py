"""Shared fixtures: an isolated data dir, warehouse and Dagster instance per test, real
loopback servers, and the real-data files beside the repo."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.lib.settings import REPO_ROOT
from pipeline_tests.ci_guard import (  # noqa: F401  (hooks: a skip under CI=true fails)
    in_ci,
    pytest_make_collect_report,
    pytest_runtest_makereport,
)
from pipeline_tests.fakes.http_server import FakeHTTPServer
from pipeline_tests.fakes.s3_server import FakeS3Server

IN_CI = in_ci()
# The daily partitions start at PIPELINE_START_DATE, read once when the definitions are first
# imported, so once per test session. Tests pin days from 2026-01-01 on; neither today's date
# nor a developer's own setting may move them.
os.environ["PIPELINE_START_DATE"] = "2026-01-01"
REALDATA = Path(os.environ.get("PIPELINE_REALDATA", REPO_ROOT.parent / "shared" / "realdata"))
FIXTURES = Path(__file__).parent / "fixtures"

# Provider credentials on the developer's machine must never reach a test: no test talks to
# the internet, and every provider under test points at a loopback server.
PROVIDER_VARIABLES = [
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "PIPELINE_AI_MODEL",
    "NEWSAPI_KEY",
    "GOOGLE_SEARCH_API_KEY",
    "GOOGLE_SEARCH_ENGINE_ID",
    "SERPER_API_KEY",
    "HUBSPOT_TOKEN",
    "SIMPLER_GRANTS_API_KEY",
    "SALESFORCE_CLIENT_ID",
    "SALESFORCE_CLIENT_SECRET",
    "SALESFORCE_REFRESH_TOKEN",
    "SALESFORCE_INSTANCE_URL",
    "SMTP_HOST",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "DAGSTER_PG_URL",
    "PIPELINE_EVENTS_URL",
    "AWS_ENDPOINT_URL",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first, in their usual order: on parallel workers the long ones then start
    early and overlap, instead of one of them running alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """On a --dist loadgroup worker an xdist_group test carries its group in its node id; when
    it does not, xdist spreads the group over workers without a word."""
    grouped = item.get_closest_marker("xdist_group") is not None
    if grouped and getattr(item.config.option, "loadgroup", False) and "@" not in item.nodeid:
        pytest.fail(
            "--dist loadgroup lost this test's xdist_group (pytest-xdist#1386: pytest >= 9.2 "
            "with pytest-xdist <= 3.8); install the versions pyproject.toml pins"
        )


def require(available: bool, reason: str) -> None:
    """Skip a test whose server is missing; under CI=true a missing server is a failure."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"required under CI=true: {reason}")
    pytest.skip(reason)


def validate_definitions() -> subprocess.CompletedProcess:
    """`dagster definitions validate` over workspace.yaml in a fresh process, as a deploy runs it."""
    dagster = Path(sys.executable).parent / "dagster"
    return subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def realdata() -> Path:
    """../shared/realdata: real feeds and API responses written by others, kept out of the repo."""
    require(
        REALDATA.is_dir(), f"real-data files not found at {REALDATA} (they sit beside the repo)"
    )
    return REALDATA


@pytest.fixture
def pipeline_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every path the pipeline writes points into a fresh temporary data dir."""
    data = tmp_path / "data"
    data.mkdir()
    for name in PROVIDER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(data))
    monkeypatch.setenv("PIPELINE_WAREHOUSE", str(data / "warehouse.duckdb"))
    monkeypatch.setenv("PIPELINE_LANDING", str(data / "landing"))
    monkeypatch.setenv("PIPELINE_OUTBOX", str(data / "outbox"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    return data


@pytest.fixture
def warehouse_path(pipeline_env: Path) -> Path:
    return pipeline_env / "warehouse.duckdb"


@pytest.fixture
def instance(pipeline_env: Path):
    """A real local (SQLite) Dagster instance in a temporary DAGSTER_HOME."""
    import dagster as dg

    with dg.instance_for_test(temp_dir=os.environ["DAGSTER_HOME"]) as test_instance:
        yield test_instance


@pytest.fixture
def http_server() -> Iterator[FakeHTTPServer]:
    with FakeHTTPServer() as server:
        yield server


@pytest.fixture
def s3_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeS3Server]:
    """moto's S3 API on loopback, with AWS_ENDPOINT_URL and test credentials in the environment."""
    with FakeS3Server() as server:
        for name, value in server.environment().items():
            monkeypatch.setenv(name, value)
        yield server


def _postgres_available() -> bool:
    try:
        import psycopg2

        psycopg2.connect(
            host="127.0.0.1", port=5432, user="postgres", dbname="postgres", connect_timeout=3
        ).close()
        return True
    except Exception:
        return False


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database on the machine's server, dropped afterwards."""
    require(_postgres_available(), "PostgreSQL is not reachable on 127.0.0.1:5432")
    import psycopg2

    name = f"pipeline_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
