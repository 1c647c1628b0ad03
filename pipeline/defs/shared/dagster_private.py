"""Every name this project takes from Dagster's private modules (`dagster._core`), in one place.

Dagster may move or change these in any release. pipeline_tests/defs/shared/test_dagster_private.py
imports each one and exercises what the code relies on, so an upgrade that breaks them fails
there, loudly, instead of in a sensor at night. Import them from here, never from `dagster._core`.
"""

from dagster._core.remote_origin import RemoteInstigatorOrigin
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    ScheduleInstigatorData,
    TickStatus,
)
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

# The Dagster minor release these names were checked against.
VERIFIED_DAGSTER = "1.13"

__all__ = [
    "VERIFIED_DAGSTER",
    "AssetCheckExecutionRecordStatus",
    "InstigatorState",
    "InstigatorStatus",
    "InstigatorType",
    "RemoteInstigatorOrigin",
    "ScheduleInstigatorData",
    "TickStatus",
]
