"""S3 access (the landing zone, backups, a DuckLake's data files) and DuckDB's extension folder."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def s3_endpoint_url() -> str | None:
    """An S3-compatible server (MinIO, moto) in place of AWS: AWS_ENDPOINT_URL_S3, else
    AWS_ENDPOINT_URL; None means AWS itself."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


@dataclass(frozen=True)
class AwsCredentials:
    """The standard AWS_* credentials, for clients that cannot read them themselves (DuckDB)."""

    key_id: str | None = field(repr=False)
    secret: str | None = field(repr=False)
    session_token: str | None = field(repr=False)
    region: str


def aws_credentials() -> AwsCredentials:
    return AwsCredentials(
        key_id=os.environ.get("AWS_ACCESS_KEY_ID") or None,
        secret=os.environ.get("AWS_SECRET_ACCESS_KEY") or None,
        session_token=os.environ.get("AWS_SESSION_TOKEN") or None,
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
    )


def duckdb_extensions_base() -> Path:
    """Where packaged DuckDB extensions are linked for DuckDB to load: PIPELINE_DUCKDB_EXTENSIONS,
    else pipeline/duckdb-extensions in the user's cache folder (XDG_CACHE_HOME)."""
    if value := os.environ.get("PIPELINE_DUCKDB_EXTENSIONS"):
        return Path(value)
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "pipeline" / "duckdb-extensions"
