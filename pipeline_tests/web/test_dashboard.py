"""/dashboard through a real uvicorn: analysts of two tenants upload, the real sensor and
sales_ingest_job (analytics and the `dashboard` asset's export) run, and every figure the page
shows under a filter agrees with SQL over the warehouse, for the viewer's tenant only."""

from __future__ import annotations

import re

import httpx

from pipeline.definitions import defs
from pipeline.defs.sales.operations import process_now
from pipeline.lib import warehouse
from pipeline.lib.sales import dashboard_export
from pipeline.lib.settings import settings
from pipeline_tests.sales.test_sensor import settle, tick
from pipeline_tests.web.conftest import sign_in
from pipeline_tests.web.test_uploads import MARKET_CSV, upload

SHOP_CSV = "order_id,date,store,category,qty,price,unit cost\n" + "\n".join(
    [
        "A1,2024-03-01,North,Tools,2,10,6",
        "A2,2024-03-01,South,Tools,1,10,6",
        "A3,2024-03-02,North,Paint,4,5,4",
    ]
)


def shown(html: str, element: str) -> float:
    value = re.search(rf'id="{element}">([^<]+)<', html).group(1)
    return float(value.replace(",", ""))


def options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}">(.*?)</select>', html, re.S).group(1)
    return [v for v in re.findall(r'<option value="([^"]*)"', select) if v]


def sql(query: str, params: list) -> tuple:
    with warehouse.connection(settings().warehouse, read_only=True) as conn:
        return conn.execute(query, params).fetchone()


def test_dashboard_figures_agree_with_sql_and_stay_in_the_tenant(instance, site, pipeline_env):
    shop = pipeline_env / "shop.csv"
    shop.write_text(SHOP_CSV)
    with (
        httpx.Client(base_url=site, timeout=120) as anna,
        httpx.Client(base_url=site, timeout=120) as gary,
    ):
        sign_in(anna, pipeline_env, "anna@example.org")
        sign_in(gary, pipeline_env, "gary@example.org")
        assert upload(anna, "market", MARKET_CSV).status_code == 303
        assert upload(gary, "shop", shop).status_code == 303
        for path in (pipeline_env / "landing" / "sales").rglob("*.csv"):
            settle(path)
        loaded = defs()
        result = tick(instance, loaded)
        keys = [r.partition_key for r in result.run_requests]
        instance.add_dynamic_partitions("sales_files", keys)
        for key in keys:
            assert all(r.success for r in process_now(loaded, instance, key))

        everything = anna.get("/dashboard").text
        assert options(everything, "datasource") == ["acme.market"]
        branch = options(everything, "branch")[0]
        product_line = options(everything, "product_line")[0]
        start, end = "2019-01-10", "2019-02-20"
        filtered = anna.get(
            "/dashboard",
            params={"from": start, "to": end, "branch": branch, "product_line": product_line},
        ).text
        samples_only = anna.get("/dashboard", params={"samples": "sample"}).text
        globex = gary.get("/dashboard").text

    where = (
        "datasource LIKE 'acme.%' AND NOT is_sample AND order_date BETWEEN ? AND ?"
        " AND branch = ? AND product_line = ?"
    )
    params = [start, end, branch, product_line]
    revenue, profit, units = sql(
        f"SELECT sum(revenue), sum(coalesce(profit, 0)), sum(quantity) FROM sales.transactions"
        f" WHERE {where}",
        params,
    )
    (orders,) = sql(f"SELECT sum(orders) FROM analytics.sales_daily WHERE {where}", params)
    assert revenue and orders
    assert shown(filtered, "revenue") == round(revenue, 2)
    assert shown(filtered, "profit") == round(profit, 2)
    assert shown(filtered, "units") == round(units)
    assert shown(filtered, "orders") == orders
    (all_revenue,) = sql(
        "SELECT sum(revenue) FROM sales.transactions WHERE datasource LIKE 'acme.%'", []
    )
    assert shown(everything, "revenue") == round(all_revenue, 2)
    assert shown(samples_only, "revenue") == 0  # uploads are real data, not samples

    assert options(globex, "datasource") == ["globex.shop"]
    assert shown(globex, "revenue") == 2 * 10 + 1 * 10 + 4 * 5
    assert "acme" not in globex.replace("globex", "") and "anna@" not in globex


def test_the_email_and_grant_sections_show_the_tenant_s_own_emails(site, pipeline_env):
    warehouse.as_warehouse(settings().warehouse).ensure_schema()
    with warehouse.connection(settings().warehouse) as conn:
        conn.executemany(
            "INSERT INTO notify.email_log (message_id, recipient, tenant_id, kind, subject,"
            " status, raw_message, opens, clicks) VALUES (?, ?, ?, ?, 's', ?, 'm', ?, ?)",
            [
                ["a1", "alice@example.org", "acme", "daily_digest", "sent", 1, 1],
                ["a2", "bob@example.org", "acme", "daily_digest", "failed", 0, 0],
                ["g1", "carol@example.org", "globex", "weekly_digest", "sent", 0, 0],
            ],
        )
        dashboard_export.write(conn, settings().data_dir)
    with httpx.Client(base_url=site, timeout=120) as anna:
        sign_in(anna, pipeline_env, "anna@example.org")
        html = anna.get("/dashboard").text
    emails = re.search(r'<table id="emails">(.*?)</table>', html, re.S).group(1)
    assert re.findall(
        r"<tr><td>(\w+)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)", emails
    ) == [("daily_digest", "1", "1", "1", "1")]
    assert "weekly_digest" not in html and "carol@" not in html
