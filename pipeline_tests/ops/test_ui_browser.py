"""The Dagster UI in headless Chromium: `dagster dev` on a loopback port over an instance where
the demo graph has run; the asset catalog, the lineage of grant_matches and the sales HTML
dashboard render, and the read-only webserver refuses to launch runs. Screenshots are kept in
pipeline_tests/artifacts/ui/ (gitignored; CI may archive them)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from pipeline.graph_runner import run_graph
from pipeline.lib.sales import dashboard as dashboard_page
from pipeline.lib.settings import REPO_ROOT
from pipeline_tests.conftest import PROVIDER_VARIABLES, require
from pipeline_tests.fakes.browser import chromium_path, dump_dom, screenshot
from pipeline_tests.fakes.ports import reserved_port

# One worker runs the whole module, so the demo and `dagster dev` behind `ui` start once.
pytestmark = [pytest.mark.slow, pytest.mark.server, pytest.mark.xdist_group("ui_browser")]

ARTIFACTS = REPO_ROOT / "pipeline_tests" / "artifacts" / "ui"
BIN = Path(sys.executable).parent


@dataclass
class RunningUI:
    base_url: str
    data_dir: Path
    home: Path
    asset_parents: dict[str, list[str]]  # materialisable asset -> its materialisable parents


def graphql(base_url: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{base_url}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def wait_for_assets(base_url: str, process: subprocess.Popen, timeout_s: float = 240) -> None:
    """Until the webserver answers and the code location has loaded its assets."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        try:
            nodes = graphql(base_url, "{ assetNodes { id } }")["data"]["assetNodes"]
            if nodes:
                return
        except (OSError, KeyError, TypeError, ValueError):
            pass
        time.sleep(1)
    raise TimeoutError(f"no assets served at {base_url} within {timeout_s}s")


def stop(process: subprocess.Popen) -> None:
    """Ctrl-C as a user would, then make sure the whole process group (webserver, daemon,
    code server) is gone."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@contextlib.contextmanager
def serving(command: list[str], log: Path) -> Iterator[str]:
    """Run a Dagster UI command (`dagster dev`, `dagster-webserver ...`) over workspace.yaml
    on a loopback port until its assets are served; yields its base URL."""
    port = reserved_port()
    base_url = f"http://127.0.0.1:{port}"
    where = ["-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(BIN / command[0]), *command[1:], *where],
            cwd=REPO_ROOT,
            env=os.environ.copy(),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() reaches every child
        )
    try:
        wait_for_assets(base_url, process)
        yield base_url
    finally:
        stop(process)


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningUI]:
    require(chromium_path() is not None, "headless Chromium is not installed (make browser)")
    root = tmp_path_factory.mktemp("ui")
    data, home = root / "data", root / "dagster_home"
    data.mkdir()
    home.mkdir()
    shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    with pytest.MonkeyPatch.context() as env:
        for name in PROVIDER_VARIABLES:
            env.delenv(name, raising=False)
        env.setenv("PIPELINE_DATA_DIR", str(data))
        env.delenv("PIPELINE_WAREHOUSE", raising=False)
        env.delenv("PIPELINE_LANDING", raising=False)
        env.delenv("PIPELINE_OUTBOX", raising=False)
        env.setenv("DAGSTER_HOME", str(home))

        from pipeline.definitions import defs

        definitions = defs()
        with dg.DagsterInstance.get() as instance:
            summary = run_graph(definitions, instance, tags={"pipeline/trigger": "ui_test"})
        # The demo graph on the samples runs clean: a failed run would leave the UI showing
        # failures a person must not see on a fresh install.
        assert summary.run_ids and not summary.failed_runs, summary.failed_runs

        graph = definitions.resolve_asset_graph()
        materializable = set(graph.materializable_asset_keys)
        asset_parents = {
            key.to_user_string(): sorted(
                p.to_user_string() for p in graph.get(key).parent_keys if p in materializable
            )
            for key in materializable
        }

        with serving(["dagster", "dev"], root / "dagster_dev.log") as base_url:
            # Dismiss the "join the community" dialog that would cover every screenshot.
            graphql(base_url, "mutation { setNuxSeen }")
            yield RunningUI(base_url, data, home, asset_parents)


def missing_from_page(url: str, names: list[str], **window) -> list[str]:
    """Names the rendered page does not show. A slow, busy machine may not have drawn
    everything within the first virtual-time budget, so one retry gets twice the budget."""
    missing = names
    for budget_ms in (15000, 30000):
        dom = dump_dom(url, budget_ms=budget_ms, **window)
        missing = [name for name in names if f">{name}<" not in dom]
        if not missing:
            break
    return missing


def test_asset_catalog_lists_every_asset(ui: RunningUI):
    names = sorted(ui.asset_parents)
    # The catalog renders only rows on screen: make the window tall enough for all of them.
    height = 400 + 60 * len(names)
    url = f"{ui.base_url}/assets"
    missing = missing_from_page(url, names, height=height)
    assert not missing, f"asset catalog at {url} does not show {missing}"
    screenshot(url, ARTIFACTS / "asset_catalog.png", height=height)


def test_lineage_of_grant_matches_shows_its_upstream_assets(ui: RunningUI):
    parents = ui.asset_parents["grant_matches"]
    assert parents, "grant_matches has no upstream assets to show"
    url = f"{ui.base_url}/assets/grant_matches?view=lineage&lineageScope=upstream"
    missing = missing_from_page(url, ["grant_matches", *parents])
    assert not missing, f"lineage of grant_matches does not show {missing}"
    screenshot(url, ARTIFACTS / "lineage_grant_matches.png")


def test_sales_dashboard_renders(ui: RunningUI):
    page = dashboard_page.page_path(ui.data_dir)
    assert page.is_file(), f"the demo wrote no sales dashboard at {page}"
    dom = dump_dom(page.as_uri())
    # What a person opening it must see: the heading, every section, charts drawn, and the
    # banner saying these figures are sample data.
    assert ">Sales dashboard<" in dom
    for section in dashboard_page.SECTION_IDS:
        assert f'id="{section}"' in dom, section
    assert dom.count("<svg") >= 3, "the dashboard draws too few charts"
    assert "SAMPLE DATA" in dom and "no data: no sales file loaded yet" not in dom
    # Self-contained: the page must not need the network to draw its charts.
    assert not dashboard_page.remote_references(dom)
    screenshot(page.as_uri(), ARTIFACTS / "sales_dashboard.png", height=2000)


def test_read_only_webserver_refuses_to_launch_runs(ui: RunningUI, tmp_path: Path):
    command = ["dagster-webserver", "--read-only"]
    with serving(command, tmp_path / "webserver.log") as base_url:
        permissions = {
            p["permission"]: p["value"]
            for p in graphql(base_url, "{ permissions { permission value } }")["data"][
                "permissions"
            ]
        }
        assert permissions["launch_pipeline_execution"] is False
        assert permissions["start_schedule"] is False
        # The same instance's runs are there to look at.
        runs = graphql(base_url, "{ runsOrError { ... on Runs { results { runId } } } }")
        assert runs["data"]["runsOrError"]["results"]
        screenshot(f"{base_url}/runs", ARTIFACTS / "read_only_runs.png")
