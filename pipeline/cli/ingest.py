"""`pipeline ingest FILE --datasource NAME [--wait]`: land a sales file for the sensor, or with
--wait also process it and its analytics here; exit 1 if the file was rejected."""

import json
import sys
from pathlib import Path

import click

from pipeline.cli import ensure_dagster_home
from pipeline.lib.sales.formats import FORMATS, FileRejected, format_of
from pipeline.lib.sales.landing import datasource_problem


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--datasource", required=True, help="Which source the file belongs to (a folder name)."
)
@click.option(
    "--wait", is_flag=True, help="Process the file and its analytics now; exit 1 if rejected."
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def ingest(file: Path, datasource: str, wait: bool, as_json: bool) -> None:
    """Put FILE into the landing zone under sales/NAME/, where the sensor picks it up."""
    if problem := datasource_problem(datasource):
        raise click.BadParameter(problem, param_hint="--datasource")
    if format_of(file.name) is None:
        raise click.BadParameter(
            f"{file.name}: expected one of {', '.join(FORMATS)}", param_hint="FILE"
        )
    ensure_dagster_home()
    import dagster as dg

    from pipeline.definitions import defs
    from pipeline.defs.sales.operations import land_file, process_now
    from pipeline.defs.shared.resources import warehouse_resource
    from pipeline.lib.sales.process import registered_file

    warehouse = warehouse_resource()
    with dg.DagsterInstance.get() as instance:
        try:
            landed = land_file(
                file, datasource, warehouse=warehouse, instance=instance if wait else None
            )
        except FileRejected as refused:  # too big, or a name with control characters
            raise click.ClickException(f"not landed: {refused}") from refused
        known = landed.already_known
        if known and known["status"] != "landed":
            row = known
            report = {"status": row["status"], "unchanged": True, **_summary(row)}
            _print(
                report,
                as_json,
                f"same bytes already ingested as {landed.location}: nothing changed",
            )
            sys.exit(1 if wait and row["status"] == "rejected" else 0)
        if not wait:
            _print(
                {
                    "status": "landed",
                    "file_hash": landed.file_hash,
                    "partition": landed.partition_key,
                    "location": landed.location,
                },
                as_json,
                f"landed {landed.location}; the sales_landing_sensor will ingest it",
            )
            return
        if known:  # landed earlier (the sensor saw it) but not processed yet
            instance.add_dynamic_partitions("sales_files", [landed.partition_key])
        results = process_now(defs(), instance, landed.partition_key, landed.run_tags)
    with warehouse.get_connection(read_only=True) as conn:
        row = registered_file(conn, landed.file_hash)
    failed = [r.run_id for r in results if not r.success]
    report = {
        **_summary(row),
        "partition": landed.partition_key,
        "runs": [r.run_id for r in results],
        "failed_runs": failed,
    }
    if row["status"] == "loaded":
        message = f"loaded {row['rows_loaded']:,} rows from {row['file_name']}"
        if row["rows_rejected"]:
            message += f" ({row['rows_rejected']:,} bad rows rejected, see sales.rejects)"
    else:
        message = f"REJECTED {row['file_name']}: {row['reason']}\n  report: {row['landing_key']}.errors.json"
    _print(report, as_json, message)
    sys.exit(0 if row["status"] == "loaded" and not failed else 1)


def _summary(row: dict) -> dict:
    keys = ("file_hash", "datasource", "file_name", "status", "reason", "landing_key",
            "rows_total", "rows_loaded", "rows_rejected")  # fmt: skip
    return {k: row[k] for k in keys}


def _print(report: dict, as_json: bool, message: str) -> None:
    click.echo(json.dumps(report, indent=2, default=str) if as_json else message)
