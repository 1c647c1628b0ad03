"""`pipeline env`: where everything lives and which providers are live or on samples (what
`make dev` prints before starting the UI)."""

from __future__ import annotations

import os

import click

from pipeline.cli import ensure_dagster_home


@click.command()
@click.option("--ui", "ui_url", help="Also say where the Dagster UI is (make dev passes it).")
def env(ui_url: str | None) -> None:
    """Print paths, instance storage, and each provider as live or on bundled samples."""
    ensure_dagster_home()
    from pipeline.graph_runner import (
        LIVE_PROVIDER_VARIABLES,
        instance_storage,
        live_providers,
    )
    from pipeline.lib import warehouse
    from pipeline.lib.settings import partitions_start_date, settings

    current = settings()
    if ui_url:
        click.echo(f"Dagster UI       {ui_url}")
        click.echo("  read-only UI   dagster-webserver --read-only -w workspace.yaml -p <port>")
    click.echo(f"warehouse        {warehouse.describe(current.warehouse)}")
    click.echo(f"landing zone     {current.landing}")
    click.echo(f"outbox           {current.outbox}")
    click.echo(f"daily partitions from {partitions_start_date()} (PIPELINE_START_DATE)")
    click.echo(f"dagster storage  {instance_storage(os.environ.get('DAGSTER_HOME'))}")
    live = set(live_providers())
    click.echo("providers")
    for name, variables in LIVE_PROVIDER_VARIABLES.items():
        state = "live" if name in live else f"samples (set {' + '.join(variables)} for live)"
        click.echo(f"  {name:<15}{state}")
