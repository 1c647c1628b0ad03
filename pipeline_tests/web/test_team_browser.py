"""What an analyst does, in headless Chromium against `pipeline serve` started as the real
command: ask for a sign-in link, open it from the e-mail, upload a real CSV from
../shared/realdata, and watch it go from landed to loaded once the sensor and the file's run
have taken it; filter the dashboard by a branch; then sign out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from pipeline.definitions import defs
from pipeline_tests.conftest import require
from pipeline_tests.fakes.browser import chromium_path
from pipeline_tests.fakes.browser_session import BrowserSession
from pipeline_tests.fakes.ports import reserved_port
from pipeline_tests.notify.web_server import serve_command
from pipeline_tests.sales.test_analytics import ANALYTICS
from pipeline_tests.sales.test_sensor import settle
from pipeline_tests.web.conftest import signin_links
from pipeline_tests.web.test_uploads import run_sensor_and_files

pytestmark = [pytest.mark.server, pytest.mark.slow]


@pytest.fixture
def served(team_config: Path, monkeypatch, tmp_path: Path) -> Iterator[str]:
    require(chromium_path() is not None, "headless Chromium is not installed (make browser)")
    port = reserved_port()
    monkeypatch.setenv("PIPELINE_PUBLIC_URL", f"http://127.0.0.1:{port}")
    with serve_command(port, tmp_path / "serve.log") as base_url:
        yield base_url


def test_an_analyst_signs_in_from_the_email_and_watches_an_upload_load(
    instance, served, pipeline_env, realdata
):
    csv = realdata / "supermarket_sales.csv"
    with BrowserSession(timeout_s=120) as browser:
        browser.open(served + "/uploads")
        assert "Send me a sign-in link" in browser.text()  # sent to /login first
        browser.fill("#email", "anna@example.org")
        browser.click("button[type=submit]")
        assert "a sign-in link is on its way" in browser.text()
        [link] = signin_links(pipeline_env, "anna@example.org")
        browser.open(link)
        assert "Sign in as anna@example.org" in browser.text()
        browser.click("#signin")
        assert browser.status == 200
        assert "No files yet" in browser.text()

        browser.open(served + "/upload")
        browser.fill("#datasource", "market")
        document = browser.call("DOM.getDocument")
        node = browser.call(
            "DOM.querySelector", nodeId=document["root"]["nodeId"], selector="#file"
        )
        browser.call("DOM.setFileInputFiles", files=[str(csv)], nodeId=node["nodeId"])
        browser.click("#send")
        assert browser.status == 200
        assert "landed" in browser.text() and csv.name in browser.text()

        landed = pipeline_env / "landing" / "sales" / "acme.market" / csv.name
        assert landed.read_bytes() == csv.read_bytes()
        settle(landed)
        run_sensor_and_files(instance)
        browser.open(served + "/uploads")
        assert "loaded 1,000 rows" in browser.text()

        analytics = [*ANALYTICS, "dashboard"]
        loaded = defs()
        assert dg.materialize(
            list(loaded.assets), selection=analytics, instance=instance, resources=loaded.resources
        ).success
        browser.open(served + "/dashboard")
        everything = browser.evaluate("document.querySelector('#revenue').innerText")
        branch = browser.evaluate(
            "document.querySelector('select[name=branch] option:nth-child(2)').value"
        )
        browser.fill("select[name=branch]", branch)
        browser.click("#apply")
        assert f"branch={branch}" in browser.evaluate("location.search")
        one_branch = browser.evaluate("document.querySelector('#revenue').innerText")
        assert 0 < float(one_branch.replace(",", "")) < float(everything.replace(",", ""))

        browser.click("#signout")
        assert "Send me a sign-in link" in browser.text()
        browser.open(served + "/uploads")
        assert "Send me a sign-in link" in browser.text()
