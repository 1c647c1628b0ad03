"""`pipeline env`: where everything lives and which providers are live or on samples (what
`make dev` prints before starting the UI)."""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from pipeline.cli import ensure_dagster_home


def instance_storage(dagster_home: str | None) -> str:
    """Where the Dagster instance keeps runs and schedules, read from DAGSTER_HOME/dagster.yaml."""
    if not dagster_home:
        return "DAGSTER_HOME not set (temporary instance)"
    config_path = Path(dagster_home) / "dagster.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) if config_path.exists() else {}
    storage = (config or {}).get("storage") or {}
    if "postgres" in storage:
        return f"PostgreSQL from DAGSTER_PG_URL (config in {dagster_home})"
    return f"SQLite files in {dagster_home}"


def echo_environment(echo=click.echo) -> None:
    """Paths, instance storage and each provider, live or on samples (`pipeline env`, and the
    head of `pipeline demo`'s output)."""
    from pipeline.lib import warehouse_choice
    from pipeline.lib.notify.secret import secret_source
    from pipeline.lib.settings import dagster_home, first_partition_day, is_set, settings
    from pipeline.lib.settings.notify import PUBLIC_URL_VARIABLE, public_url
    from pipeline.lib.settings.providers import LIVE_PROVIDER_VARIABLES, live_providers

    current = settings()
    echo(f"warehouse        {warehouse_choice.configured().describe()}")
    echo(f"landing zone     {current.landing}")
    echo(f"outbox           {current.outbox}")
    echo(f"daily partitions from {first_partition_day()} (PIPELINE_START_DATE)")
    origin = "set" if is_set(PUBLIC_URL_VARIABLE) else "unset: the pipeline serve address"
    echo(f"public URL       {public_url()} ({PUBLIC_URL_VARIABLE} {origin})")
    echo(f"link secret      from {secret_source()}")
    echo(f"dagster storage  {instance_storage(dagster_home())}")
    live = set(live_providers())
    echo("providers")
    for name, variables in LIVE_PROVIDER_VARIABLES.items():
        state = "live" if name in live else f"samples (set {' + '.join(variables)} for live)"
        echo(f"  {name:<15}{state}")


@click.command()
@click.option("--ui", "ui_url", help="Also say where the Dagster UI is (make dev passes it).")
def env(ui_url: str | None) -> None:
    """Print paths, instance storage, and each provider as live or on bundled samples."""
    ensure_dagster_home()
    if ui_url:
        click.echo(f"Dagster UI       {ui_url}")
        click.echo("  read-only UI   dagster-webserver --read-only -w workspace.yaml -p <port>")
    echo_environment()
