"""`pipeline check`: run every asset check against the warehouse as it is now."""

from __future__ import annotations

import json
import sys

import click

from pipeline.cli import ensure_dagster_home


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON on stdout.")
def check(as_json: bool) -> None:
    """Run every asset check of the code location against the warehouse as it is now, without
    materialising anything, and record the results in the instance at DAGSTER_HOME.

    Exits 0 when every check passed, 1 when only WARN checks failed, 2 when an ERROR check
    failed or a check could not run."""
    ensure_dagster_home()
    import dagster as dg

    from pipeline.definitions import defs
    from pipeline.defs.sales.recovery import process_tags
    from pipeline.graph_runner import run_checks

    with dg.DagsterInstance.get() as instance:
        # The process tag lets recovery mark the run failed if this process is killed.
        summary = run_checks(defs(), instance, tags=process_tags())
    code = summary.exit_code
    if as_json:
        click.echo(json.dumps({"exit_code": code, **summary.as_dict()}, indent=2))
        sys.exit(code)
    for outcome in sorted(
        summary.checks, key=lambda c: (c.asset_key.to_user_string(), c.check_name)
    ):
        state = "pass" if outcome.passed else f"FAIL {outcome.severity.value}"
        detail = "" if outcome.passed or not outcome.description else f"  {outcome.description}"
        click.echo(f"{state:<10} {outcome.asset_key.to_user_string()}:{outcome.check_name}{detail}")
    failed = [c for c in summary.checks if not c.passed]
    click.echo(f"\nchecks: {len(summary.checks) - len(failed)} passed, {len(failed)} failed")
    if summary.failed_runs:
        click.echo(
            f"{len(summary.failed_runs)} check run(s) failed (a check raised): "
            + ", ".join(r[:8] for r in summary.failed_runs)
        )
    sys.exit(code)
