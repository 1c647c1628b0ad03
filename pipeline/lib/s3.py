"""The one S3 client (the landing zone, `pipeline backup`/`restore`): boto3 reads the standard
AWS_* credentials and region itself; the endpoint comes from settings, so S3-compatible servers
(MinIO, moto) work with older botocore too."""

from __future__ import annotations

from pipeline.lib.settings.storage import s3_endpoint_url

# As dagster-aws's S3Resource did before this client replaced it.
MAX_ATTEMPTS = 5


def s3_client():
    # Imported here: boto3 costs a noticeable share of a second, and only S3 locations need it.
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3",
        endpoint_url=s3_endpoint_url(),
        config=Config(retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"}),
    )
