"""/dashboard: the signed-in user's tenant's sales, filtered by date range, datasource (real
data and samples apart), branch and product line: plain GET form, server-rendered, from the
export the `dashboard` asset writes (pipeline.lib.sales.dashboard_export), never the warehouse.
Operators see every datasource."""

from __future__ import annotations

import datetime as dt

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from pipeline.lib.sales import dashboard_export
from pipeline.lib.settings import settings
from pipeline.lib.web_sessions import DASHBOARD, OPERATIONS, may_use
from pipeline.web.pages import page

SAMPLE_CHOICES = {"real": "Real data", "sample": "Samples", "all": "Both"}


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def filters_from(request: Request) -> dashboard_export.Filters:
    """Filters from the query string; an unknown value filters nothing (shown as such)."""
    query = request.query_params
    samples = query.get("samples", "real")
    return dashboard_export.Filters(
        start=_date(query.get("from")),
        end=_date(query.get("to")),
        datasource=query.get("datasource", "")[:100],
        samples=samples if samples in SAMPLE_CHOICES else "real",
        branch=query.get("branch", "")[:200],
        product_line=query.get("product_line", "")[:200],
    )


class Dashboard:
    def __init__(self, auth) -> None:
        self.auth = auth

    async def page(self, request: Request) -> Response:
        user = await self.auth.require(request, DASHBOARD)
        scope = dashboard_export.ALL if may_use(user.role, OPERATIONS) else user.tenant
        exported = await run_in_threadpool(dashboard_export.read, settings().data_dir, scope)
        filters = filters_from(request)
        rows = exported.sales

        def shown(row: dict) -> bool:  # samples apart, as for sales
            return filters.samples == "all" or row["is_sample"] == (filters.samples == "sample")

        return page(
            "dashboard.html",
            user=user,
            filters=filters,
            figures=dashboard_export.figures(rows, filters),
            emails=[r for r in exported.emails if shown(r)],
            grants=[r for r in exported.grants if shown(r)],
            datasources=sorted({r["datasource"] for r in rows}),
            branches=sorted({r["branch"] for r in rows}),
            product_lines=sorted({r["product_line"] for r in rows}),
            sample_choices=SAMPLE_CHOICES,
        )
