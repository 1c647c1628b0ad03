"""`pipeline backup DIR` and `pipeline restore DIR`: the warehouse as Parquet and back."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.lib import backup as backups
from pipeline.lib.settings import settings


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def backup(directory: Path) -> None:
    """Export the warehouse into DIRECTORY (new or empty) as Parquet files, schema.sql, load.sql
    and manifest.json. Waits for other processes' locks; writers wait while it runs."""
    try:
        manifest = backups.backup(settings().warehouse, directory)
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from error
    rows = sum(manifest.tables.values())
    click.echo(
        f"backed up {settings().warehouse} (schema version {manifest.schema_version}): "
        f"{len(manifest.tables)} tables, {rows:,} rows -> {directory}"
    )


@click.command()
@click.argument(
    "directory", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True
)
@click.option("--force", is_flag=True, help="Replace a warehouse that already holds data.")
def restore(directory: Path, force: bool) -> None:
    """Replace the warehouse with the backup in DIRECTORY. Refuses a warehouse that holds data
    unless --force. A backup from an older version is upgraded by the pending migrations."""
    try:
        result = backups.restore(directory, settings().warehouse, force=force)
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from error
    rows = sum(result.manifest.tables.values())
    click.echo(
        f"restored {len(result.manifest.tables)} tables, {rows:,} rows from {directory} "
        f"(backed up {result.manifest.created_at}) into {result.warehouse}"
    )
    if result.upgraded_by:
        click.echo(f"upgraded by migrations: {', '.join(result.upgraded_by)}")
