"""/healthz and /metrics of `pipeline serve` under a real uvicorn, driven with httpx: they answer
from the health export health_report writes, the instance's runs and the event store (the
warehouse is never opened), and PIPELINE_OPS_NETWORKS / PIPELINE_OPS_TOKEN restrict them."""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pipeline.defs.health.assets import ASSET_GRAPH_RESOURCE, health_report
from pipeline.lib import health_export
from pipeline.lib.notify.recipient_events import CLICK, OPEN, default_store
from pipeline.lib.settings import recipient_events_location
from pipeline.web.app import WebSettings
from pipeline_tests.defs.health.toy_defs import plant, toy_definitions
from pipeline_tests.notify.web_server import running_app

SECRET = "ops-test-secret-0123456789abcdefghijk"


def serve(pipeline_env: Path):
    config = WebSettings(
        events=recipient_events_location(), config_dir=pipeline_env / "config", secret=SECRET
    )
    return running_app(config)


def samples(text: str) -> dict[tuple, float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_healthz_and_metrics_answer_from_what_health_report_exported(instance, pipeline_env):
    toy = toy_definitions()
    everything = [*toy.assets, *toy.asset_checks, health_report]
    resources = {**toy.resources, ASSET_GRAPH_RESOURCE: toy.resolve_asset_graph()}
    assert dg.materialize(everything, instance=instance, resources=resources).success
    plant(pipeline_env / "warehouse.duckdb", "INSERT INTO toy.scores VALUES (1, 0.4)")
    dg.materialize(
        everything, instance=instance, resources=resources,
        selection=dg.AssetSelection.all_asset_checks(),
    )  # fmt: skip
    dg.materialize(
        everything, instance=instance, resources=resources, selection=[health_report.key]
    )
    store = default_store()
    store.append(OPEN, message_id="m1")
    store.append(CLICK, message_id="m1")
    store.append(CLICK, message_id="m2")

    with serve(pipeline_env) as base_url:
        healthz = httpx.get(base_url + "/healthz")
        metrics = httpx.get(base_url + "/metrics")
    assert healthz.status_code == 200
    report = healthz.json()
    assert report["exit_code"] == 1  # a WARN check fails: `pipeline health` exits 1
    assert {a["asset"]: a["status"] for a in report["assets"]} == {
        "toy_scores": "degraded",
        "toy_summary": "healthy",
    }
    assert metrics.headers["content-type"].startswith("text/plain")
    figures = samples(metrics.text)
    assert figures[("pipeline_health_exit_code", ())] == 1
    assert figures[("pipeline_emails_total", (("event", "opened"),))] == 1
    assert figures[("pipeline_emails_total", (("event", "clicked"),))] == 2
    assert (
        figures[("pipeline_runs", (("job", "__ephemeral_asset_job__"), ("status", "SUCCESS")))] >= 2
    )
    assert figures[("pipeline_check_results_total", (("outcome", "failed"), ("severity", "WARN")))]
    assert ("pipeline_asset_freshness_lag_seconds", (("asset", "toy_scores"),)) in figures
    assert figures[("pipeline_scorer_calls_total", (("kind", "fallbacks"),))] == 0
    assert figures[("pipeline_sales_rows_total", (("outcome", "loaded"),))] == 0


@pytest.mark.parametrize(
    ("report", "status"),
    [
        (None, 503),
        ({"exit_code": 0, "score": 100}, 200),
        ({"exit_code": 1, "score": 60}, 200),
        ({"exit_code": 2, "score": 20}, 503),
        ({"exit_code": 0, "score": 100, "age": health_export.STALE_AFTER_S + 60}, 503),
    ],
)
def test_healthz_is_503_exactly_when_pipeline_health_would_exit_2(pipeline_env, report, status):
    if report is not None:
        age = report.pop("age", 0)
        health_export.write({**report, "reported_at": time.time() - age, "figures": {}})
    with serve(pipeline_env) as base_url:
        answer = httpx.get(base_url + "/healthz")
    assert answer.status_code == status
    assert "figures" not in answer.json()


def test_networks_and_token_restrict_the_operator_endpoints(pipeline_env, monkeypatch):
    health_export.write({"exit_code": 0, "score": 100, "reported_at": time.time()})
    monkeypatch.setenv("PIPELINE_OPS_NETWORKS", "10.0.0.0/8, fd00::/8")
    monkeypatch.setenv("PIPELINE_OPS_TOKEN", "scrape-token")
    with serve(pipeline_env) as base_url:
        for path in ("/healthz", "/metrics"):
            assert httpx.get(base_url + path).status_code == 403
            wrong = {"Authorization": "Bearer nope"}
            assert httpx.get(base_url + path, headers=wrong).status_code == 403
            right = {"Authorization": "Bearer scrape-token"}
            assert httpx.get(base_url + path, headers=right).status_code == 200
    monkeypatch.setenv("PIPELINE_OPS_NETWORKS", "127.0.0.0/8")
    monkeypatch.delenv("PIPELINE_OPS_TOKEN")
    with serve(pipeline_env) as base_url:
        assert httpx.get(base_url + "/healthz").status_code == 200


def test_a_bad_network_is_refused_at_start(pipeline_env, monkeypatch):
    monkeypatch.setenv("PIPELINE_OPS_NETWORKS", "10.0.0.300/8")
    with pytest.raises(ValueError, match="not a CIDR"), serve(pipeline_env):
        pass
