"""`pipeline news --client ID`: fetch and deduplicate one client's news now, in this process."""

from __future__ import annotations

import datetime as dt
import sys

import click


@click.command("news")
@click.option("--client", "clients", multiple=True, help="Client id (repeat for several).")
@click.option("--tenant", default="", help="Every client of this tenant.")
@click.option(
    "--date",
    "partition",
    default=None,
    help="Partition date YYYY-MM-DD (default: today, UTC).",
)
def news(clients: tuple[str, ...], tenant: str, partition: str | None) -> None:
    """Fetch news for one client (or a tenant, or all) and rebuild client_news, as a monitoring
    schedule would; the run is recorded in the instance at DAGSTER_HOME."""
    import dagster as dg

    from pipeline.cli import ensure_dagster_home
    from pipeline.definitions import defs

    ensure_dagster_home()
    partition_key = partition or dt.datetime.now(dt.UTC).date().isoformat()
    try:
        dt.date.fromisoformat(partition_key)
    except ValueError as error:
        raise click.BadParameter(f"--date {partition_key!r} is not YYYY-MM-DD") from error
    loaded = defs()
    job = loaded.resolve_job_def("news_fetch_job")
    partitions = job.partitions_def
    if partitions is not None and not partitions.has_partition_key(partition_key):
        raise click.BadParameter(
            f"--date {partition_key} is not a daily partition: they run from "
            f"{partitions.get_first_partition_key()} (PIPELINE_START_DATE) to today"
        )
    run_config = {
        "ops": {"raw_news_events": {"config": {"clients": list(clients), "tenant": tenant}}}
    }
    with dg.DagsterInstance.get() as instance:
        # The client list first, so a client just added to the CRM is known.
        crm_result = dg.materialize(
            list(loaded.assets or []),
            selection=dg.AssetSelection.assets("crm_clients"),
            instance=instance,
            resources=loaded.resources,
            raise_on_error=False,
        )
        if not crm_result.success:
            click.echo("crm_clients failed; see the run in the Dagster UI", err=True)
            sys.exit(1)
        result = job.execute_in_process(
            instance=instance,
            partition_key=partition_key,
            run_config=run_config,
            raise_on_error=False,
        )
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        summary = {
            key: value.value
            for key, value in materialization.metadata.items()
            if key
            in (
                "clients",
                "items_fetched",
                "new_events",
                "failed_sources",
                "articles_written",
                "near_duplicates",
            )
        }
        click.echo(f"{materialization.asset_key.to_user_string()} [{partition_key}]: {summary}")
    if not result.success:
        for event in result.all_events:
            if event.event_type == dg.DagsterEventType.STEP_FAILURE:
                click.echo(f"failed: {event.event_specific_data.error.message.strip()}", err=True)
        sys.exit(1)
