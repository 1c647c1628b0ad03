"""A small code location for health tests: assets whose checks read the warehouse, so planting
bad rows makes them fail without re-materialising anything."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from pipeline.defs.shared.resources import WarehouseResource, warehouse_resource

TOY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=dt.timedelta(hours=2), warn_window=dt.timedelta(hours=1)
)


@dg.asset(group_name="toy", freshness_policy=TOY_FRESHNESS, tags={"criticality": "high"})
def toy_scores(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.get_connection() as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS toy")
        conn.execute("CREATE OR REPLACE TABLE toy.scores (id INTEGER, score DOUBLE)")
        conn.execute("INSERT INTO toy.scores VALUES (1, 0.2), (2, 0.9)")
    return dg.MaterializeResult(metadata={"dagster/row_count": 2})


@dg.asset(group_name="toy", deps=[toy_scores])
def toy_summary(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.get_connection() as conn:
        conn.execute("CREATE OR REPLACE TABLE toy.summary AS SELECT count(*) AS n FROM toy.scores")
    return dg.MaterializeResult(metadata={"dagster/row_count": 1})


@dg.asset_check(asset=toy_scores, blocking=True, description="scores lie in [0, 1]")
def toy_scores_in_range(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.get_connection(read_only=True) as conn:
        bad = conn.execute("SELECT count(*) FROM toy.scores WHERE score NOT BETWEEN 0 AND 1")
        bad = bad.fetchall()[0][0]
    return dg.AssetCheckResult(passed=bad == 0, description=f"{bad} scores out of range")


@dg.asset_check(asset=toy_scores, description="ids are unique")
def toy_scores_unique(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.get_connection(read_only=True) as conn:
        dupes = conn.execute("SELECT count(*) - count(DISTINCT id) FROM toy.scores").fetchall()[0][
            0
        ]
    return dg.AssetCheckResult(
        passed=dupes == 0,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{dupes} duplicate ids",
    )


def toy_definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=[toy_scores, toy_summary],
        asset_checks=[toy_scores_in_range, toy_scores_unique],
        resources={"warehouse": warehouse_resource()},
    )


def plant(warehouse_path, sql: str) -> None:
    from pipeline.lib import warehouse

    with warehouse.connection(warehouse_path) as conn:
        conn.execute(sql)


def record_tick(instance, name: str, status, error: str | None = None):
    """A sensor tick as the daemon records it."""
    import time

    from dagster._core.remote_origin import (
        RegisteredCodeLocationOrigin,
        RemoteInstigatorOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.scheduler.instigation import (
        InstigatorState,
        InstigatorStatus,
        InstigatorType,
        TickData,
    )
    from dagster_shared.error import SerializableErrorInfo

    origin = RemoteInstigatorOrigin(
        repository_origin=RemoteRepositoryOrigin(
            code_location_origin=RegisteredCodeLocationOrigin("pipeline"),
            repository_name="__repository__",
        ),
        instigator_name=name,
    )
    state = InstigatorState(origin, InstigatorType.SENSOR, InstigatorStatus.RUNNING)
    if not instance.get_instigator_state(state.instigator_origin_id, state.selector_id):
        instance.add_instigator_state(state)
    instance.create_tick(
        TickData(
            instigator_origin_id=state.instigator_origin_id,
            instigator_name=name,
            instigator_type=InstigatorType.SENSOR,
            status=status,
            timestamp=time.time(),
            selector_id=state.selector_id,
            error=SerializableErrorInfo(error, [], "ConnectionError") if error else None,
        )
    )
