"""The landing-zone resource: a local folder, or S3 (pipeline.lib.s3) when
PIPELINE_LANDING is s3://bucket/prefix (AWS_* variables, AWS_ENDPOINT_URL for S3-compatible)."""

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
        return open_landing(self.resolved_location())

    @property
    def max_excel_bytes(self) -> int:
        return int(self.max_excel_mb * 1024 * 1024)
