"""Run limits that Dagster's run queue cannot express, for schedules and sensors to call.

The queue (dagster.yaml `concurrency.runs`) caps discovery runs in flight by the tag
`pipeline/pool=discovery`; the rate limit here caps how many are requested per window."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from pipeline.lib.rate_limit import DISCOVERY_RATE_LIMIT, SlidingWindowLimit

POOL_TAG = "pipeline/pool"
# Tags for every run that calls an outside discovery provider (grants, news).
DISCOVERY_TAGS = {POOL_TAG: "discovery"}


def recent_run_times(
    instance: dg.DagsterInstance, tags: dict[str, str], since: dt.datetime
) -> list[dt.datetime]:
    """Creation times of runs with `tags` created after `since`, whatever their status: a
    queued or failed run still spent a request."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(tags=tags, created_after=since), limit=1000
    )
    # Storages return UTC; a naive timestamp (older storages) is UTC too.
    return [
        t if t.tzinfo else t.replace(tzinfo=dt.UTC)
        for t in (record.create_timestamp for record in records)
    ]


def discovery_runs_remaining(
    instance: dg.DagsterInstance,
    *,
    now: dt.datetime | None = None,
    limit: SlidingWindowLimit = DISCOVERY_RATE_LIMIT,
) -> int:
    """How many discovery runs may still be requested now under the sliding-window limit."""
    now = now or dt.datetime.now(dt.UTC)
    created = recent_run_times(instance, DISCOVERY_TAGS, now - limit.window)
    return limit.remaining(created, now)


def discovery_run_allowed(
    instance: dg.DagsterInstance,
    *,
    now: dt.datetime | None = None,
    limit: SlidingWindowLimit = DISCOVERY_RATE_LIMIT,
) -> bool:
    """True if one more discovery run fits in the rate limit (at most 5 per 5 minutes)."""
    return discovery_runs_remaining(instance, now=now, limit=limit) > 0
