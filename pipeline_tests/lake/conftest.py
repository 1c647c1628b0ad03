"""The DuckLake backend on the machine's servers: catalog in a fresh PostgreSQL database, data
on moto's S3 server; and a one-host variant (SQLite catalog, data in a folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_tests.fakes.s3_server import FakeS3Server

BUCKET = "lake"


@pytest.fixture
def s3_server(s3_server: FakeS3Server) -> FakeS3Server:
    """The shared S3 server, with the lake's bucket."""
    s3_server.client().create_bucket(Bucket=BUCKET)
    return s3_server


@pytest.fixture
def postgres_lake(
    pipeline_env: Path, postgres_url: str, s3_server: FakeS3Server, monkeypatch: pytest.MonkeyPatch
) -> str:
    """PIPELINE_WAREHOUSE / PIPELINE_LAKE_DATA pointing at PostgreSQL + S3; returns the URL."""
    url = f"ducklake:postgres:{postgres_url}"
    monkeypatch.setenv("PIPELINE_WAREHOUSE", url)
    monkeypatch.setenv("PIPELINE_LAKE_DATA", f"s3://{BUCKET}/data/")
    return url


@pytest.fixture
def sqlite_lake(pipeline_env: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"ducklake:sqlite:{pipeline_env / 'lake' / 'catalog.sqlite'}"
    monkeypatch.setenv("PIPELINE_WAREHOUSE", url)
    monkeypatch.setenv("PIPELINE_LAKE_DATA", str(pipeline_env / "lake" / "data"))
    return url


@pytest.fixture(
    params=["file", "sqlite_lake", pytest.param("postgres_lake", marks=pytest.mark.server)]
)
def any_backend(request: pytest.FixtureRequest, pipeline_env: Path) -> str:
    """Each backend in turn, configured through the environment only; returns its name."""
    if request.param != "file":
        request.getfixturevalue(request.param)
    return request.param
