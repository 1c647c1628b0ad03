"""`pipeline samples remove`: delete the bundled samples' rows and files once a deployment has
real data (until then they keep the graph, the dashboard and the e-mails populated)."""

from __future__ import annotations

import click


@click.group()
def samples() -> None:
    """Sample data: every row from the bundled samples is marked is_sample."""


@samples.command()
def remove() -> None:
    """Delete every sample row from the warehouse, the sample sales files from the landing zone
    and their sales_files partitions, and print what was removed. Running it again removes
    nothing. E-mails already sent stay recorded in notify.email_log."""
    import dagster as dg

    from pipeline.cli import ensure_dagster_home
    from pipeline.defs.sales.landing import SalesLandingResource
    from pipeline.defs.sales.partitions import sales_files
    from pipeline.defs.shared.resources import warehouse_resource
    from pipeline.lib import warehouse
    from pipeline.lib.sales.partition_keys import names_file
    from pipeline.lib.sales.process import SPEC_SUFFIX
    from pipeline.lib.samples import remove_samples

    ensure_dagster_home()
    with warehouse.connection(warehouse_resource().backend) as conn:
        removed = remove_samples(conn)
    landing = SalesLandingResource().zone()
    for _, _, key in removed.files:
        landing.delete(key)
        landing.delete(key + SPEC_SUFFIX)  # the spec inferred for it, if any
    with dg.DagsterInstance.get() as instance:
        for partition in instance.get_dynamic_partitions(sales_files.name):
            if any(names_file(partition, name, digest) for digest, name, _ in removed.files):
                instance.delete_dynamic_partition(sales_files.name, partition)
    click.echo(removed.summary())
