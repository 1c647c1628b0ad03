"""`pipeline demo` runs carry the process running them (`.dagster/pipeline_process`, hidden in
the UI), like `pipeline ingest --wait` runs, so recovery marks the run of a killed demo failed
instead of leaving it STARTED until run monitoring's limit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import dagster as dg
import pytest
from click.testing import CliRunner

import pipeline.graph_runner
from pipeline.cli import ensure_dagster_home, main
from pipeline.defs.sales.recovery import PROCESS_TAG, fail_dead_runs
from pipeline.graph_runner import GraphRunSummary
from pipeline.lib.processes import process_identity
from pipeline.lib.settings import REPO_ROOT
from pipeline_tests.sales.test_crash_recovery import dead_process_identity, nothing_job


@pytest.mark.slow
def test_the_run_of_a_killed_demo_is_marked_failed(pipeline_env):
    child = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "demo"],
        cwd=REPO_ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ensure_dagster_home()
    started = dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])
    deadline = time.monotonic() + 120
    with dg.DagsterInstance.get() as instance:
        while not instance.get_runs(filters=started):
            assert child.poll() is None, "the demo ended before a run started"
            assert time.monotonic() < deadline, "the demo never started a run"
            time.sleep(0.05)
        demo_process = process_identity(child.pid)
        child.send_signal(signal.SIGKILL)
        assert child.wait() == -signal.SIGKILL
        [run] = instance.get_runs(filters=started)
        assert run.job_name.startswith("demo_") and run.tags[PROCESS_TAG] == demo_process
        # What the landing sensor does on every tick (and the next demo before it starts).
        assert fail_dead_runs(instance) == [run.run_id]
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE


def test_a_demo_fails_dead_runs_first_and_tags_its_own(pipeline_env, monkeypatch):
    ensure_dagster_home()
    seen_tags = []

    def run_graph(defs, instance, *, tags, on_step):
        seen_tags.append(tags)
        return GraphRunSummary()

    monkeypatch.setattr(pipeline.graph_runner, "run_graph", run_graph)
    with dg.DagsterInstance.get() as instance:
        left = instance.create_run_for_job(
            nothing_job,
            tags={PROCESS_TAG: dead_process_identity()},
            status=dg.DagsterRunStatus.STARTED,
        )
    result = CliRunner().invoke(main, ["demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"run {left.run_id[:8]} lost its process" in result.output
    with dg.DagsterInstance.get() as instance:
        assert instance.get_run_by_id(left.run_id).status == dg.DagsterRunStatus.FAILURE
    [tags] = seen_tags
    assert tags["pipeline/trigger"] == "demo" and tags[PROCESS_TAG] == process_identity()


def test_the_process_tag_is_hidden_on_the_runs_page():
    # What the UI's GraphQL API filters run tags by (dagster_graphql leaves HIDDEN ones out).
    from dagster._core.storage.tags import TagType, get_tag_type

    assert get_tag_type(PROCESS_TAG) == TagType.HIDDEN
