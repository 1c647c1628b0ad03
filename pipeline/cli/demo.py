"""`pipeline demo`: materialise the whole graph once and print what happened."""

from __future__ import annotations

import json
import sys

import click

from pipeline.cli import ensure_dagster_home


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
def demo(as_json: bool) -> None:
    """Materialise every asset once on the embedded defaults (live providers where keys are set),
    run every check, and record it all in the instance at DAGSTER_HOME.

    Exits 0 only when every run succeeded and no ERROR-severity check failed."""
    ensure_dagster_home()
    import dagster as dg

    from pipeline.cli.env import echo_environment
    from pipeline.definitions import defs
    from pipeline.defs.sales.recovery import fail_dead_runs, process_tags
    from pipeline.defs.shared.automation_pause import automation_paused
    from pipeline.graph_runner import run_graph

    echo = (lambda *a, **k: click.echo(*a, err=True, **k)) if as_json else click.echo
    echo_environment(echo)
    with dg.DagsterInstance.get() as instance:
        # Runs a killed demo or ingest left STARTED: the landing sensor that fails them was
        # paused by that demo, and the wait for runs in flight below would wait on them.
        for run_id in fail_dead_runs(instance):
            echo(f"run {run_id[:8]} lost its process (killed or crashed); marked failed")

        def progress(step, result) -> None:
            keys = ", ".join(k.to_user_string() for k in step.asset_keys)
            where = f" [{step.partition_key}]" if step.partition_key else ""
            state = "ok" if result.success else "FAILED"
            echo(f"  run {result.run_id[:8]} {state}{where}: {keys}")

        # With `dagster dev` on this instance, its sensors and schedules would run the same
        # assets at the same time: they are paused until the demo ends (see automation_pause).
        with automation_paused(instance, echo=echo):
            # The process tag lets recovery tell a run whose process was killed from a live one.
            summary = run_graph(
                defs(),
                instance,
                tags={"pipeline/trigger": "demo", **process_tags()},
                on_step=progress,
            )

    failed = [c for c in summary.checks if not c.passed]
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        click.echo("\nrows:")
        for asset, rows in sorted(summary.row_counts.items()):
            click.echo(f"  {asset:<40} {rows:>10,}")
        click.echo(f"\nchecks: {len(summary.checks) - len(failed)} passed, {len(failed)} failed")
        for check in failed:
            click.echo(
                f"  {check.severity.value:<5} {check.asset_key.to_user_string()}:{check.check_name} {check.description or ''}"
            )
        # Only what this demo sent or wrote: a second demo sends nothing twice, and says so.
        click.echo(
            "\ne-mails: "
            + (
                ", ".join(f"{n} {status}" for status, n in sorted(summary.emails.items()))
                or "none sent or written by this run"
            )
        )
        if summary.failed_runs:
            click.echo(f"\n{len(summary.failed_runs)} run(s) failed:")
            for run_id in summary.failed_runs:
                click.echo(f"  {run_id[:8]} {summary.failures[run_id]}")
    sys.exit(0 if summary.ok else 1)
