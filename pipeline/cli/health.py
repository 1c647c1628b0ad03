"""`pipeline health`: one line per asset (and per source) from the instance's latest check
results and runs."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from dataclasses import asdict

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
    from pipeline.defs.health.state import asset_health, latest_ticks, source_health
    from pipeline.defs.sales.recovery import stuck_files
    from pipeline.defs.shared.resources import warehouse_resource
    from pipeline.lib import health as rules

    now = time.time()
    with dg.DagsterInstance.get() as instance:
        assets = asset_health(defs().resolve_asset_graph(), instance, now)
        failing_ticks = [t for t in latest_ticks(instance) if t.failed]
        stuck = stuck_files(instance, warehouse_resource().location, now)
    sources = source_health(warehouse_resource().location, now)
    code = rules.exit_code([a.status for a in assets] + [s.status for s in sources])
    # A sensor or schedule whose latest tick failed is a warning: its assets say the rest.
    code = max(code, rules.EXIT_WARNINGS) if failing_ticks else code
    # A stuck sales file is a warning while recovery retries it, failing once it gave up.
    for file in stuck:
        code = max(code, rules.EXIT_FAILING if file.gave_up else rules.EXIT_WARNINGS)
    score = rules.overall_score(assets, sources)
    if as_json:
        report = {
            "exit_code": code,
            "score": score,
            "assets_by_status": rules.status_counts(a.status for a in assets),
            "assets": [asdict(a) for a in assets],
            "sources": [asdict(s) for s in sources],
            "failing_ticks": [asdict(t) for t in failing_ticks],
            "stuck_files": [{**asdict(f), "reason": f.describe()} for f in stuck],
        }
        click.echo(json.dumps(report, indent=2))
        sys.exit(code)
    names = [a.asset for a in assets] + [f"source {s.kind}/{s.provider}" for s in sources]
    width = max((len(n) for n in names), default=10)

    def echo(status, name: str, group, last: float | None, counts: str, reasons) -> None:
        why = f"  {'; '.join(reasons)}" if reasons else ""
        click.echo(
            f"{status.upper():<10} {name:<{width}}  {group or '-':<8} last {_when(last)}, {counts}{why}"
        )

    for a in assets:
        counts = f"checks {a.checks_passed} ok/{a.checks_failed} failed"
        echo(a.status, a.asset, a.group, a.last_materialized_at, counts, a.reasons)
    if sources:
        click.echo("")
    for s in sources:
        name, counts = f"source {s.kind}/{s.provider}", f"{s.errors}/{s.fetches} failed"
        echo(s.status, name, s.kind, s.last_fetch_at, counts, s.reasons)
    if failing_ticks:
        click.echo("")
        for tick in failing_ticks:
            error = tick.error.splitlines()[0] if tick.error else ""
            click.echo(
                f"{'FAILING':<10} {tick.kind} {tick.name}  latest tick {_when(tick.timestamp)}"
                + (f"  {error[:150]}" if error else "")
            )
    if stuck:
        click.echo("")
        for file in stuck:
            click.echo(f"{'STUCK':<10} {file.describe()}")
    counts = rules.status_counts(a.status for a in assets)
    click.echo(
        f"\nscore {score}/100; "
        + ", ".join(f"{n} {status}" for status, n in counts.items() if n)
        + (f", {len(stuck)} stuck sales file(s)" if stuck else "")
        + f"; exit {code}"
    )
    sys.exit(code)
