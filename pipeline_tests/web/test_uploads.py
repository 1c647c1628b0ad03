"""/upload and /uploads through a real uvicorn: a signed-in analyst's file lands under their
tenant's datasource where the real landing sensor takes it, its state follows the run recorded
in the instance (landed, then loaded N rows or rejected with the reasons of errors.json), and
bad names, sizes and origins are refused with nothing landed."""

from __future__ import annotations

from pathlib import Path

import httpx

from pipeline.definitions import defs
from pipeline.web import upload_status
from pipeline_tests.sales.conftest import SALES_FIXTURES, materialize_file
from pipeline_tests.sales.test_s3_landing import keys
from pipeline_tests.sales.test_sensor import settle, tick
from pipeline_tests.web.conftest import sign_in

MARKET_CSV = SALES_FIXTURES / "supermarket_sales.csv"


def upload(client: httpx.Client, datasource: str, path: Path, name: str | None = None):
    with path.open("rb") as handle:
        return client.post(
            "/upload",
            data={"datasource": datasource},
            files={"file": (name or path.name, handle, "text/csv")},
        )


def run_sensor_and_files(instance) -> None:
    """What the daemon does next: a sensor tick, then each requested run."""
    loaded = defs()
    result = tick(instance, loaded)
    instance.add_dynamic_partitions("sales_files", [r.partition_key for r in result.run_requests])
    for request in result.run_requests:
        materialize_file(instance, request.partition_key, loaded, tags=request.tags)


def test_an_upload_lands_under_the_tenant_and_its_state_follows_the_run(
    instance, site, pipeline_env
):
    landing = pipeline_env / "landing" / "sales"
    junk = pipeline_env / "junk.csv"
    junk.write_text("what,ever\nx,y\n")
    with httpx.Client(base_url=site, timeout=120) as client:
        sign_in(client, pipeline_env, "anna@example.org")
        form = client.get("/upload").text
        assert 'name="datasource"' in form and 'name="file"' in form
        assert 'enctype="multipart/form-data"' in form
        answer = upload(client, "market", MARKET_CSV)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/uploads")
        assert upload(client, "market", junk).status_code == 303
        landed = landing / "acme.market" / MARKET_CSV.name
        assert landed.read_bytes() == MARKET_CSV.read_bytes()

        listing = client.get("/uploads")
        assert listing.headers["refresh"] == "5"  # refreshes while a file is in progress
        assert listing.text.count('data-state="landed"') == 2

        settle(landed)
        settle(landing / "acme.market" / "junk.csv")
        run_sensor_and_files(instance)
        listing = client.get("/uploads")
    assert "refresh" not in listing.headers
    assert 'data-state="loaded"' in listing.text
    assert "loaded 1,000 rows" in listing.text or "loaded 999 rows" in listing.text
    assert 'data-state="rejected"' in listing.text and "rejected:" in listing.text


def test_bad_files_names_sizes_and_origins_are_refused(site, pipeline_env, monkeypatch):
    landing = pipeline_env / "landing" / "sales"
    notes = pipeline_env / "notes.docx"
    notes.write_text("hello")
    with httpx.Client(base_url=site, timeout=120) as client:
        assert upload(client, "market", MARKET_CSV).headers["location"] == "/login"
        sign_in(client, pipeline_env, "anna@example.org")
        assert upload(client, "market", notes).status_code == 400
        assert upload(client, "../etc", MARKET_CSV).status_code == 400
        assert upload(client, "market", MARKET_CSV, name=".hidden.csv").status_code == 400
        with MARKET_CSV.open("rb") as handle:
            cross_site = client.post(
                "/upload",
                data={"datasource": "market"},
                files={"file": (MARKET_CSV.name, handle)},
                headers={"Origin": "https://evil.example"},
            )
        assert cross_site.status_code == 403
        monkeypatch.setenv("PIPELINE_MAX_FILE_MB", "0.01")
        assert upload(client, "market", MARKET_CSV).status_code == 413
    assert not landing.exists() or not any(p.is_file() for p in landing.rglob("*"))
    assert not any((pipeline_env / "tmp").rglob("*.csv"))


def test_an_upload_lands_in_an_s3_zone_under_the_tenant(
    instance, pipeline_env, s3_server, monkeypatch, site
):
    monkeypatch.setenv("PIPELINE_LANDING", "s3://sales-bucket/inbox")
    s3 = s3_server.client()
    s3.create_bucket(Bucket="sales-bucket")
    with httpx.Client(base_url=site, timeout=120) as client:
        sign_in(client, pipeline_env, "gary@example.org")
        assert upload(client, "market", MARKET_CSV).status_code == 303
        listing = client.get("/uploads")
    [key] = keys(s3)
    assert key == f"inbox/sales/globex.market/{MARKET_CSV.name}"
    body = s3.get_object(Bucket="sales-bucket", Key=key)["Body"].read()
    assert body == MARKET_CSV.read_bytes()
    assert 'data-state="landed"' in listing.text and MARKET_CSV.name in listing.text


def test_a_tenant_s_state_survives_many_later_runs_of_others(
    instance, site, pipeline_env, monkeypatch
):
    monkeypatch.setattr(upload_status, "RUNS_READ", 2)  # stands for 500 later runs
    shop = pipeline_env / "shop.csv"
    other = pipeline_env / "other.csv"
    shop.write_text("order_id,date,store,category,qty,price\nA1,2024-03-01,North,Tools,2,10\n")
    other.write_text("order_id,date,store,category,qty,price\nB1,2024-03-02,South,Paint,1,5\n")
    with (
        httpx.Client(base_url=site, timeout=120) as anna,
        httpx.Client(base_url=site, timeout=120) as gary,
    ):
        sign_in(anna, pipeline_env, "anna@example.org")
        sign_in(gary, pipeline_env, "gary@example.org")
        assert upload(anna, "market", MARKET_CSV).status_code == 303
        settle(pipeline_env / "landing" / "sales" / "acme.market" / MARKET_CSV.name)
        run_sensor_and_files(instance)
        for path in (shop, other):
            assert upload(gary, "shop", path).status_code == 303
            settle(pipeline_env / "landing" / "sales" / "globex.shop" / path.name)
        run_sensor_and_files(instance)
        listing = anna.get("/uploads").text
    assert 'data-state="loaded"' in listing and 'data-state="landed"' not in listing
