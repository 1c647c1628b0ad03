"""Operators' endpoints of `pipeline serve`: /healthz (the `pipeline health` report, 503 when it
would exit 2) and /metrics (Prometheus text). Both read what the pipeline recorded — the health
export health_report writes, the Dagster instance's runs and the recipient event store — never
the warehouse. PIPELINE_OPS_NETWORKS / PIPELINE_OPS_TOKEN restrict who may read them."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from collections import Counter

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pipeline.lib import health_export
from pipeline.lib.notify.recipient_events import CLICK, OPEN, RecipientEvents
from pipeline.lib.settings import OpsAccess, ops_access
from pipeline.web.instance import dagster_instance

log = logging.getLogger("pipeline.web")

# /metrics counts the latest runs only, so one scrape stays fast on a long-lived instance.
RUNS_COUNTED = 5000


def allowed(access: OpsAccess, request: Request) -> bool:
    if not access.restricted:
        return True
    header = request.headers.get("authorization", "")
    if access.token and hmac.compare_digest(header.encode(), f"Bearer {access.token}".encode()):
        return True
    try:
        client = ipaddress.ip_address(request.client.host if request.client else "")
    except ValueError:
        return False
    return any(client in network for network in access.networks)


class _Families:
    """A one-off collector: the families of one scrape."""

    def __init__(self, families: list) -> None:
        self.families = families

    def collect(self):
        return iter(self.families)


def _labelled(family, values: dict) -> object:
    for label, value in sorted(values.items()):
        family.add_metric(label if isinstance(label, tuple) else [label], value)
    return family


def _figure_families(report: dict, now: float) -> list:
    figures = report.get("figures", {})

    def counter(name: str, doc: str, label: str, key: str):
        return _labelled(CounterMetricFamily(name, doc, labels=[label]), figures.get(key, {}))

    checks = CounterMetricFamily(
        "pipeline_check_results", "Latest asset check results", labels=["severity", "outcome"]
    )
    for key, count in sorted(figures.get("check_results", {}).items()):
        severity, _, outcome = key.partition(":")
        checks.add_metric([severity, outcome], count)
    return [
        GaugeMetricFamily("pipeline_health_exit_code", "pipeline health's exit code",
                          value=report.get("exit_code", 2)),
        GaugeMetricFamily("pipeline_health_score", "Health score 0-100",
                          value=report.get("score", 0)),
        GaugeMetricFamily("pipeline_health_report_age_seconds", "Age of the health export",
                          value=now - float(report.get("reported_at") or 0)),
        checks,
        _labelled(
            GaugeMetricFamily("pipeline_asset_freshness_lag_seconds",
                              "Seconds since the asset's last materialisation", labels=["asset"]),
            figures.get("freshness_lag_seconds", {}),
        ),
        counter("pipeline_sales_rows", "Sales rows of real (not sample) files", "outcome",
                "sales_rows"),
        _labelled(
            GaugeMetricFamily("pipeline_landing_files", "Sales files by state", labels=["state"]),
            figures.get("landing_files", {}),
        ),
        counter("pipeline_scorer_calls", "AI scorer calls, fallbacks, failures and cache hits",
                "kind", "scorer"),
    ]  # fmt: skip


def _email_family(report: dict | None, events: dict[str, int]):
    emails = dict((report or {}).get("figures", {}).get("emails", {}))
    emails.update({"opened": events.get(OPEN, 0), "clicked": events.get(CLICK, 0)})
    return _labelled(
        CounterMetricFamily(
            "pipeline_emails", "E-mails by delivery status, and opens and clicks", labels=["event"]
        ),
        emails,
    )


class Ops:
    def __init__(self, events: RecipientEvents) -> None:
        self.events = events
        self.access = ops_access()

    def runs(self) -> dict[tuple[str, str], int]:
        """(job, status) -> runs among the latest RUNS_COUNTED of the instance at DAGSTER_HOME."""
        instance = dagster_instance()
        if instance is None:
            return {}
        records = instance.get_run_records(limit=RUNS_COUNTED)
        return dict(Counter((r.dagster_run.job_name, r.dagster_run.status.value) for r in records))

    def scrape(self) -> bytes:
        now = time.time()
        report = health_export.read()
        families = _figure_families(report, now) if report else []
        families.append(_email_family(report, self.events.action_counts()))
        families.append(
            _labelled(
                GaugeMetricFamily(
                    "pipeline_runs", "Runs by job and status", labels=["job", "status"]
                ),
                self.runs(),
            )
        )
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Families(families))
        return generate_latest(registry)

    def refused(self, request: Request) -> Response | None:
        if allowed(self.access, request):
            return None
        log.warning("%s refused for a client outside PIPELINE_OPS_NETWORKS", request.url.path)
        return Response("forbidden\n", status_code=403, media_type="text/plain")

    async def healthz(self, request: Request) -> Response:
        if refusal := self.refused(request):
            return refusal
        status, body = health_export.healthz(await run_in_threadpool(health_export.read))
        return JSONResponse(body, status_code=status)

    async def metrics(self, request: Request) -> Response:
        if refusal := self.refused(request):
            return refusal
        return Response(await run_in_threadpool(self.scrape), media_type=CONTENT_TYPE_LATEST)
