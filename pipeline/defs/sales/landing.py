"""The landing-zone resource: a local folder, or S3 through dagster-aws when
PIPELINE_LANDING is s3://bucket/prefix (AWS_* variables, AWS_ENDPOINT_URL for S3-compatible)."""

import os

import dagster as dg

from pipeline.lib.sales.landing import LocalLanding, S3Landing, open_landing
from pipeline.lib.settings import settings


class SalesLandingResource(dg.ConfigurableResource):
    """Where sales files land. Empty `location` means PIPELINE_LANDING (read at run time)."""

    location: str = ""
    max_excel_mb: float = 50.0

    def resolved_location(self) -> str:
        return self.location or settings().landing

    def zone(self) -> LocalLanding | S3Landing:
        def s3_client():
            # Imported here: dagster_aws costs half a second to import, and only S3 needs it.
            from dagster_aws.s3 import S3Resource

            # S3Resource reads the standard AWS_* variables itself; the endpoint is passed on
            # so S3-compatible servers (MinIO, moto) work with older botocore too.
            return S3Resource(endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None).get_client()

        return open_landing(self.resolved_location(), s3_client)

    @property
    def max_excel_bytes(self) -> int:
        return int(self.max_excel_mb * 1024 * 1024)
