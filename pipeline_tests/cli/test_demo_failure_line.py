"""`pipeline demo`'s last lines name each failed run's failed step and its error's last line."""

from __future__ import annotations

import dagster as dg
from click.testing import CliRunner

import pipeline.graph_runner
from pipeline.cli import ensure_dagster_home, main
from pipeline.graph_runner import GraphRunSummary


def test_demo_prints_the_failed_step_and_its_error(pipeline_env, monkeypatch):
    ensure_dagster_home()

    @dg.asset
    def fragile():
        raise RuntimeError("provider answered:\nHTML instead of JSON")

    def run_graph(defs, instance, *, tags, on_step):
        summary = GraphRunSummary()
        summary.record(dg.materialize([fragile], instance=instance, raise_on_error=False))
        return summary

    monkeypatch.setattr(pipeline.graph_runner, "run_graph", run_graph)
    result = CliRunner().invoke(main, ["demo"], catch_exceptions=False)
    assert result.exit_code == 1
    lines = result.output.rstrip().splitlines()
    assert lines[-2] == "1 run(s) failed:"
    assert lines[-1].endswith(" fragile: HTML instead of JSON")
