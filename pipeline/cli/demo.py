"""`pipeline demo`: materialise the whole graph once and print what happened."""

from __future__ import annotations

import sys

import click

from pipeline.cli import ensure_dagster_home


@click.command()
def demo() -> None:
    """Materialise every asset once on the embedded defaults (live providers where keys are set),
    run every check, and record it all in the instance at DAGSTER_HOME.

    Exits 0 only when every run succeeded and no ERROR-severity check failed."""
    ensure_dagster_home()
    import dagster as dg

    from pipeline.definitions import defs
    from pipeline.graph_runner import describe_environment, run_graph

    for name, value in describe_environment().items():
        click.echo(f"{name:>15}: {value}")
    with dg.DagsterInstance.get() as instance:

        def progress(step, result) -> None:
            keys = ", ".join(k.to_user_string() for k in step.asset_keys)
            where = f" [{step.partition_key}]" if step.partition_key else ""
            state = "ok" if result.success else "FAILED"
            click.echo(f"  run {result.run_id[:8]} {state}{where}: {keys}")

        summary = run_graph(defs(), instance, tags={"pipeline/trigger": "demo"}, on_step=progress)

    click.echo("\nrows:")
    for asset, rows in sorted(summary.row_counts.items()):
        click.echo(f"  {asset:<40} {rows:>10,}")
    failed = [c for c in summary.checks if not c.passed]
    click.echo(f"\nchecks: {len(summary.checks) - len(failed)} passed, {len(failed)} failed")
    for check in failed:
        click.echo(
            f"  {check.severity:<5} {check.asset_key.to_user_string()}:{check.name} {check.description or ''}"
        )
    if summary.failed_runs:
        click.echo(
            f"\n{len(summary.failed_runs)} run(s) failed: {', '.join(r[:8] for r in summary.failed_runs)}"
        )
    sys.exit(0 if summary.ok else 1)
