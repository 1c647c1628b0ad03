"""`pipeline backup DIR` and `pipeline restore DIR`: the warehouse as Parquet and back. DIR may
be `s3://bucket/prefix` (AWS_* variables; AWS_ENDPOINT_URL for S3-compatible stores)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from pipeline.lib import backup as backups
from pipeline.lib.s3 import s3_client
from pipeline.lib.settings import cover_partitions_from


def _warehouse():
    # Imported here: the resource pulls in Dagster, which every other command would pay for.
    from pipeline.defs.shared.resources import warehouse_resource

    return warehouse_resource()


@click.command()
@click.argument("directory")
def backup(directory: str) -> None:
    """Export the warehouse into DIRECTORY (new or empty; or an empty s3://bucket/prefix) as
    Parquet files, schema.sql, load.sql and manifest.json. Waits for other processes' locks;
    writers wait while it runs."""
    try:
        if directory.startswith("s3://"):
            with tempfile.TemporaryDirectory(prefix="pipeline-backup-") as staging:
                manifest = backups.backup(_warehouse().backend, Path(staging) / "backup")
                backups.upload_directory(s3_client(), Path(staging) / "backup", directory)
        else:
            manifest = backups.backup(_warehouse().backend, Path(directory))
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from error
    rows = sum(manifest.tables.values())
    click.echo(
        f"backed up {_warehouse().describe()} (schema version {manifest.schema_version}): "
        f"{len(manifest.tables)} tables, {rows:,} rows -> {directory}"
    )


@click.command()
@click.argument("directory")
@click.option("--force", is_flag=True, help="Replace a warehouse that already holds data.")
@click.option(
    "--unverified",
    is_flag=True,
    help="Restore a backup made before backups recorded checksums, without verifying its files.",
)
def restore(directory: str, force: bool, unverified: bool) -> None:
    """Replace the warehouse with the backup in DIRECTORY (or s3://bucket/prefix). Every file is
    first checked against the SHA-256 in the manifest; any damaged, missing or extra file stops
    the restore with the warehouse untouched. Refuses a warehouse that holds data unless
    --force. A backup from an older version is upgraded by the pending migrations."""
    options = {"force": force, "unverified": unverified}
    try:
        if directory.startswith("s3://"):
            with tempfile.TemporaryDirectory(prefix="pipeline-restore-") as staging:
                local = backups.download_directory(s3_client(), directory, Path(staging) / "b")
                result = backups.restore(local, _warehouse().backend, origin=directory, **options)
        else:
            if not Path(directory).is_dir():
                raise backups.BackupError(f"{directory} is not a directory")
            result = backups.restore(Path(directory), _warehouse().backend, **options)
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from error
    rows = sum(result.manifest.tables.values())
    click.echo(
        f"restored {len(result.manifest.tables)} tables, {rows:,} rows from {directory} "
        f"(backed up {result.manifest.created_at}) into {result.warehouse}"
    )
    if result.upgraded_by:
        click.echo(f"upgraded by migrations: {', '.join(result.upgraded_by)}")
    first_day = backups.first_partition_date(result.warehouse)
    if first_day is not None and (note := cover_partitions_from(first_day)):
        click.echo(note)
