"""The pipeline's code location with every step executed on Celery workers (dagster-celery).

Point the webserver, the daemon and the workers at this file instead of pipeline.definitions
(`dagster dev -f deploy/celery/definitions.py`, or a workspace.yaml naming it); see README.md.
Runs and steps share only the instance (PostgreSQL, deploy/postgres/dagster.yaml), the broker and
the warehouse, which must then be DuckLake (PIPELINE_WAREHOUSE=ducklake:postgres:...): a DuckDB
file cannot be shared between hosts.
"""

import os

import dagster as dg
from dagster_celery import celery_executor

# The module, not its `defs`: a second @definitions function in this module's scope would make
# the code location ambiguous.
import pipeline.definitions as pipeline_definitions

BROKER = os.environ.get("PIPELINE_CELERY_BROKER", "pyamqp://guest:guest@127.0.0.1:5672//")
BACKEND = os.environ.get("PIPELINE_CELERY_BACKEND", "rpc://")


@dg.definitions
def defs() -> dg.Definitions:
    return pipeline_definitions.location(
        executor=celery_executor.configured({"broker": BROKER, "backend": BACKEND})
    )
