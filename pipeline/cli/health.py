"""`pipeline health`: one line per asset (and per source) from the instance's latest check
results and runs."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time

import click

from pipeline.cli import ensure_dagster_home


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
def health(as_json: bool) -> None:
    """Health of every asset and source from the latest check results and runs recorded in the
    instance at DAGSTER_HOME (nothing is run).

    Exits 0 when all is healthy, 1 on warnings (degraded or never-materialised assets), 2 when
    an ERROR check fails or an asset is stale or offline."""
    ensure_dagster_home()
    import dagster as dg

    from pipeline.definitions import defs
    from pipeline.defs.health.state import health_view
    from pipeline.defs.shared.resources import warehouse_resource
    from pipeline.lib import health as rules

    with dg.DagsterInstance.get() as instance:
        view = health_view(
            defs().resolve_asset_graph(), instance, warehouse_resource().backend, time.time()
        )
    code, score = view.exit_code, view.score
    if as_json:
        report = view.report()
        click.echo(json.dumps(report, indent=2))
        sys.exit(code)
    names = [a.asset for a in view.assets] + [f"source {s.kind}/{s.provider}" for s in view.sources]
    width = max((len(n) for n in names), default=10)

    def echo(status, name: str, group, last: float | None, counts: str, reasons) -> None:
        why = f"  {'; '.join(reasons)}" if reasons else ""
        click.echo(
            f"{status.upper():<10} {name:<{width}}  {group or '-':<8} last {_when(last)}, {counts}{why}"
        )

    for a in view.assets:
        counts = f"checks {a.checks_passed} ok/{a.checks_failed} failed"
        echo(a.status, a.asset, a.group, a.last_materialized_at, counts, a.reasons)
    if view.sources:
        click.echo("")
    for s in view.sources:
        name, counts = f"source {s.kind}/{s.provider}", f"{s.errors}/{s.fetches} failed"
        echo(s.status, name, s.kind, s.last_fetch_at, counts, s.reasons)
    if view.failing_ticks:
        click.echo("")
        for tick in view.failing_ticks:
            error = tick.error.splitlines()[0] if tick.error else ""
            click.echo(
                f"{'FAILING':<10} {tick.kind} {tick.name}  latest tick {_when(tick.timestamp)}"
                + (f"  {error[:150]}" if error else "")
            )
    if view.stuck:
        click.echo("")
        for file in view.stuck:
            click.echo(f"{'STUCK':<10} {file.describe()}")
    counts = rules.status_counts(a.status for a in view.assets)
    click.echo(
        f"\nscore {score}/100; "
        + ", ".join(f"{n} {status}" for status, n in counts.items() if n)
        + (f", {len(view.stuck)} stuck sales file(s)" if view.stuck else "")
        + f"; exit {code}"
    )
    sys.exit(code)
