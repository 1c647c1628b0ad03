"""Celery settings the workers read: `celery -A dagster_celery.app worker` imports this module
when it is on PYTHONPATH (dagster_celery.make_app looks for `dagster_celery_config`).
The run side gets the same broker through definitions.py."""

import os

broker_url = os.environ.get("PIPELINE_CELERY_BROKER", "pyamqp://guest:guest@127.0.0.1:5672//")
result_backend = os.environ.get("PIPELINE_CELERY_BACKEND", "rpc://")
# One step at a time per worker process: steps are heavy (DuckDB, Polars), the host has cores.
worker_prefetch_multiplier = 1
