"""News test helpers: materialise the news assets in process on an isolated warehouse."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

TODAY = dt.date(2026, 11, 21)


def news_defs(**resource_overrides) -> dg.Definitions:
    from pipeline.definitions import defs

    loaded = defs()
    return loaded.with_resources(resource_overrides) if resource_overrides else loaded


def materialize_news(
    instance: dg.DagsterInstance,
    *,
    partition: dt.date = TODAY,
    resources: dict | None = None,
    clients: list[str] | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    from pipeline.definitions import defs
    from pipeline.defs.news.assets import client_news, crm_clients, raw_news_events

    all_resources = {**defs().resources, **(resources or {})}
    first = dg.materialize(
        [crm_clients], instance=instance, resources=all_resources, raise_on_error=raise_on_error
    )
    assert first.success
    run_config = {"ops": {"raw_news_events": {"config": {"clients": clients}}}} if clients else None
    return dg.materialize(
        [raw_news_events, client_news],
        partition_key=partition.isoformat(),
        instance=instance,
        resources=all_resources,
        run_config=run_config,
        raise_on_error=raise_on_error,
    )


@pytest.fixture
def news_warehouse(warehouse_path):
    """Open the test warehouse read-only for assertions."""
    from pipeline.lib.warehouse import connection

    def _open():
        return connection(warehouse_path, read_only=True)

    return _open
