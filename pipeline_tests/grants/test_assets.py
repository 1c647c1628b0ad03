"""The grants assets materialised in process against a temporary warehouse and instance: on the
bundled samples, against live-source servers on loopback (through the real httpx code), with
failing sources, and the organisation-profile sensor re-matching one organisation."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import zipfile
from pathlib import Path

import dagster as dg
import pytest
import yaml

from pipeline.lib import warehouse
from pipeline.lib.settings import REPO_ROOT
from pipeline_tests.fakes.http_server import Reply

DAY = "2026-12-01"
GRANT_ASSETS = ("organizations", "raw_grant_events", "grants", "grant_changes", "discovery_trends")
SAMPLES = REPO_ROOT / "data" / "samples" / "grants"
SIMPLER_KEY = "simpler-secret-key-0123456789"


def code_location() -> dg.Definitions:
    # Resources read the environment when the code location loads: load it after monkeypatching.
    from pipeline.definitions import defs

    return defs()


def materialize(instance, *keys: str, partition: str = DAY, **kwargs) -> dg.ExecuteInProcessResult:
    definitions = code_location()
    return dg.materialize(
        [*definitions.assets, *definitions.asset_checks],
        selection=dg.AssetSelection.assets(*keys),
        partition_key=partition,
        resources=definitions.resources,
        instance=instance,
        raise_on_error=False,
        **kwargs,
    )


def query(path: Path, sql: str, params=None) -> list[tuple]:
    with warehouse.connection(path, read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


def metadata(result, key: str) -> dict:
    event = next(
        e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == key
    )
    return {k: v.value for k, v in event.step_materialization_data.materialization.metadata.items()}


def test_samples_flow_into_grants_changes_trends_and_matches(instance, warehouse_path):
    result = materialize(instance, *GRANT_ASSETS, "grant_matches")
    assert result.success
    failed = [
        (e.asset_key, e.check_name) for e in result.get_asset_check_evaluations() if not e.passed
    ]
    assert failed == []

    # 28 source records (one of them a funder's news post) are 19 grants.
    assert metadata(result, "raw_grant_events")["new_events"] == 28
    grants = metadata(result, "grants")
    assert (grants["records"], grants["not_funding_items"], grants["invalid_records"]) == (27, 1, 0)
    assert query(warehouse_path, "SELECT count(*), bool_and(is_sample) FROM core.grants") == [
        (19, True)
    ]
    # The extract's opioid grant, seen again by Simpler with a later deadline and more money.
    assert query(
        warehouse_path,
        "SELECT providers, provider, close_date::VARCHAR, award_ceiling FROM core.grants"
        " WHERE grant_id = 'gg-360103'",
    ) == [(["grants_gov_extract", "simpler_grants"], "simpler_grants", "2027-05-12", 1_500_000.0)]
    assert set(
        query(warehouse_path, "SELECT field, old_value, new_value FROM core.grant_changes")
    ) == {
        ("close_date", "2027-04-14", "2027-05-12"),
        ("award_ceiling", "1000000", "1500000"),
        ("estimated_funding", "45000000", "60000000"),
    }
    # Every provider is recorded on the raw events and the source records.
    assert {r[0] for r in query(warehouse_path, "SELECT DISTINCT provider FROM raw.events")} == {
        "grants_gov_extract",
        "grants_gov_search",
        "simpler_grants",
        "grant_feed",
    }
    assert query(
        warehouse_path,
        "SELECT sum(discovered)::INT, count(DISTINCT provider) FROM analytics.discovery_trends",
    ) == [(19, 4)]
    # Only the three complete profiles are matched; the arts collective lacks too much.
    matched = query(
        warehouse_path, "SELECT org_id, count(*) FROM ai.grant_matches GROUP BY ALL ORDER BY 1"
    )
    assert matched == [
        ("org-coastal-watershed", 19),
        ("org-harbor-health", 19),
        ("org-riverside-youth", 19),
    ]
    # Lexical fit, not the final score: the sample deadlines pass one day; the fit does not.
    best = query(
        warehouse_path,
        "SELECT org_id, arg_max(grant_id, lexical_score) FROM ai.grant_matches"
        " GROUP BY ALL ORDER BY 1",
    )
    titles = dict(query(warehouse_path, "SELECT grant_id, lower(title) FROM core.grants"))
    assert "oyster" in titles[best[0][1]] or "coastal" in titles[best[0][1]]
    assert "opioid" in titles[best[1][1]] or "health" in titles[best[1][1]]  # e.g. Telehealth
    assert "stem" in titles[best[2][1]] or "youth" in titles[best[2][1]]


def test_rerunning_a_partition_adds_nothing(instance, warehouse_path):
    assert materialize(instance, *GRANT_ASSETS).success
    tables = ("raw.events", "core.grants", "core.grant_sources", "core.grant_changes")
    before = {t: query(warehouse_path, f"SELECT count(*) FROM {t}") for t in tables}
    hashes = query(warehouse_path, "SELECT grant_id, content_hash FROM core.grants ORDER BY 1")
    again = materialize(instance, *GRANT_ASSETS)
    assert again.success
    assert metadata(again, "raw_grant_events")["new_events"] == 0
    assert metadata(again, "grants")["new_grants"] == 0
    assert {t: query(warehouse_path, f"SELECT count(*) FROM {t}") for t in tables} == before
    assert (
        query(warehouse_path, "SELECT grant_id, content_hash FROM core.grants ORDER BY 1") == hashes
    )
    # The same payloads fetched on another day are not new either.
    later = materialize(
        instance, "raw_grant_events", "grants", "grant_changes", partition="2026-11-30"
    )
    assert later.success and metadata(later, "raw_grant_events")["new_events"] == 0


def extract_zip(xml: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("GrantsDBExtract20261201v2.xml", xml)
    return buffer.getvalue()


def extract_paths() -> list[str]:
    """The extract's URL carries the UTC fetch date (the wall clock, not the partition): serve
    today's and tomorrow's, so a run that crosses midnight still finds its extract."""
    today = dt.datetime.now(dt.UTC).date()
    return [
        f"/extracts/GrantsDBExtract{day:%Y%m%d}v2.zip" for day in (today, today + dt.timedelta(1))
    ]


@pytest.fixture
def live_sources(http_server, monkeypatch, tmp_path):
    """Every grant source live, on a loopback server; the feed list names a live feed."""
    config = tmp_path / "config"
    shutil.copytree(REPO_ROOT / "data" / "config", config)
    (config / "grant_sources.yaml").write_text(
        yaml.safe_dump(
            {
                "search": {"keywords": ["youth education"], "max_records": 50},
                "feeds": [f"{http_server.base_url}/funder/feed.xml?token=feed-secret-token"],
            }
        )
    )
    monkeypatch.setenv("PIPELINE_CONFIG_DIR", str(config))
    monkeypatch.setenv("GRANTS_GOV_LIVE", "true")
    monkeypatch.setenv(
        "GRANTS_GOV_EXTRACT_URL",
        f"{http_server.base_url}/extracts/GrantsDBExtract{{date:%Y%m%d}}v2.zip",
    )
    monkeypatch.setenv("GRANTS_GOV_BASE_URL", http_server.base_url)
    monkeypatch.setenv("SIMPLER_GRANTS_API_KEY", SIMPLER_KEY)
    monkeypatch.setenv("SIMPLER_GRANTS_BASE_URL", http_server.base_url)
    for path in extract_paths():
        http_server.add(
            "GET", path, Reply(200, extract_zip((SAMPLES / "grants_gov_extract.xml").read_bytes()))
        )
    http_server.add(
        "POST", "/v1/api/search2", Reply(200, (SAMPLES / "grants_gov_search2.json").read_text())
    )
    http_server.add(
        "POST",
        "/v1/opportunities/search",
        Reply(200, (SAMPLES / "simpler_grants_search.json").read_text()),
    )
    http_server.add(
        "GET",
        "/funder/feed.xml",
        Reply(200, (SAMPLES / "feeds" / "community_foundation.xml").read_bytes()),
    )
    return http_server


def test_live_sources_through_the_real_clients(instance, warehouse_path, live_sources):
    result = materialize(instance, *GRANT_ASSETS)
    assert result.success
    assert query(
        warehouse_path,
        "SELECT provider, bool_or(is_sample), count(*) FROM raw.events GROUP BY ALL ORDER BY 1",
    ) == [
        ("grant_feed", False, 4),
        ("grants_gov_extract", False, 13),
        ("grants_gov_search", False, 4),
        ("simpler_grants", False, 4),
    ]
    assert query(warehouse_path, "SELECT bool_or(is_sample) FROM core.grants") == [(False,)]
    # Exactly one extract was fetched: the one named after the day it was fetched.
    (fetch_day,) = query(
        warehouse_path,
        "SELECT DISTINCT strftime(fetched_at AT TIME ZONE 'UTC', '%Y%m%d') FROM raw.events"
        " WHERE provider = 'grants_gov_extract'",
    )[0]
    requested = {p: len(live_sources.requests_to(p)) for p in extract_paths()}
    assert requested == {p: int(fetch_day in p) for p in requested}
    simpler = live_sources.requests_to("/v1/opportunities/search")[0]
    assert simpler.headers["X-API-Key"] == SIMPLER_KEY
    assert simpler.json()["query"] == "youth education"
    assert live_sources.requests_to("/v1/api/search2")[0].json()["keyword"] == "youth education"

    # The key is sent, never kept: not in the warehouse, the metadata or the run's logs.
    secrets = (SIMPLER_KEY, "feed-secret-token")
    with warehouse.connection(warehouse_path, read_only=True) as conn:
        for table in ("raw.events", "raw.source_fetches", "core.grants", "core.grant_sources"):
            dump = str(conn.execute(f"SELECT * FROM {table}").fetchall())
            assert not any(s in dump for s in secrets), table
    logs = " ".join(
        str(e.dagster_event) + (e.user_message or "") for e in instance.all_logs(result.run_id)
    )
    assert not any(s in logs for s in secrets)


def test_a_failing_source_never_stops_the_others(instance, warehouse_path, live_sources):
    # A handler overrides the fixture's queued replies.
    live_sources.handle("POST", "/v1/api/search2", lambda _: Reply(503, "upstream down"))
    truncated = (SAMPLES / "grants_gov_extract.xml").read_bytes()
    cut = truncated.index(b"</OpportunitySynopsisDetail_1_0>", 6000) + 40
    for path in extract_paths():
        live_sources.handle("GET", path, lambda _: Reply(200, extract_zip(truncated[:cut])))
    result = materialize(instance, "raw_grant_events")
    assert result.success
    fetches = dict(
        query(
            warehouse_path,
            "SELECT provider, status || ': ' || coalesce(error, '') FROM raw.source_fetches",
        )
    )
    assert fetches["grants_gov_search"].startswith(
        "error: ProviderError: grants_gov_search: HTTP 503"
    )
    assert fetches["grants_gov_extract"].startswith("error: GrantParseError")
    assert "after " in fetches["grants_gov_extract"]
    assert fetches["simpler_grants"] == "ok: " and fetches["grant_feed"] == "ok: "
    # What the extract delivered before the cut is kept.
    stored = query(
        warehouse_path, "SELECT count(*) FROM raw.events WHERE provider = 'grants_gov_extract'"
    )[0][0]
    assert 0 < stored < 13


def test_every_source_failing_fails_the_run_and_records_why(instance, warehouse_path, live_sources):
    for method, route in (
        *(("GET", path) for path in extract_paths()),
        ("POST", "/v1/api/search2"),
        ("POST", "/v1/opportunities/search"),
        ("GET", "/funder/feed.xml"),
    ):
        live_sources.handle(
            method,
            route,
            lambda _: Reply(200, "<html><head><title>Maintenance</title></head></html>"),
        )
    result = materialize(instance, "raw_grant_events")
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "every grant source failed" in failure.message or "every grant source failed" in str(
        failure.event_specific_data.error
    )
    statuses = query(warehouse_path, "SELECT provider, status FROM raw.source_fetches ORDER BY 1")
    assert {s for _, s in statuses} == {"error"} and len(statuses) == 4


def test_profile_edit_rematches_that_organization_over_every_partition(
    instance, warehouse_path, tmp_path, monkeypatch
):
    from pipeline.defs.scoring.sensors import organization_profile_sensor

    config = tmp_path / "config"
    shutil.copytree(REPO_ROOT / "data" / "config", config)
    monkeypatch.setenv("PIPELINE_CONFIG_DIR", str(config))
    assert materialize(instance, *GRANT_ASSETS, "grant_matches").success
    # An earlier partition: the range the sensor asks for runs from the first to the last.
    later = {"ops": {"raw_grant_events": {"config": {"providers": ["grant_feed"]}}}}
    assert materialize(
        instance, "raw_grant_events", "grants", "grant_changes", "grant_matches",
        partition="2026-11-28", run_config=later,
    ).success  # fmt: skip

    definitions = code_location()

    def evaluate(cursor):
        context = dg.build_sensor_context(instance=instance, definitions=definitions, cursor=cursor)
        return organization_profile_sensor(context), context.cursor

    baseline, cursor = evaluate(None)
    assert isinstance(baseline, dg.SkipReason)
    before = dict(
        query(
            warehouse_path,
            "SELECT org_id || '/' || grant_id, scored_at FROM ai.grant_matches",
        )
    )
    profiles = yaml.safe_load((config / "organizations.yaml").read_text())
    harbor = next(o for o in profiles["organizations"] if o["org_id"] == "org-harbor-health")
    harbor["keywords"] = ["wetland restoration", "oyster reef"]
    (config / "organizations.yaml").write_text(yaml.safe_dump(profiles))

    request, cursor = evaluate(cursor)
    assert isinstance(request, dg.RunRequest)
    assert request.asset_selection == [dg.AssetKey("organizations"), dg.AssetKey("grant_matches")]
    assert request.run_config["ops"]["grant_matches"]["config"]["org_ids"] == ["org-harbor-health"]
    assert (
        request.tags["dagster/asset_partition_range_start"],
        request.tags["dagster/asset_partition_range_end"],
    ) == ("2026-11-28", DAY)

    result = dg.materialize(
        [*definitions.assets, *definitions.asset_checks],
        selection=dg.AssetSelection.assets(*request.asset_selection),
        resources=definitions.resources,
        instance=instance,
        run_config=request.run_config,
        tags=request.tags,
    )
    assert result.success
    after = dict(
        query(warehouse_path, "SELECT org_id || '/' || grant_id, scored_at FROM ai.grant_matches")
    )
    assert set(after) == set(before)
    rescored = {k.split("/")[0] for k in after if after[k] != before[k]}
    assert rescored == {"org-harbor-health"}
    coastal_fit = query(
        warehouse_path,
        "SELECT max(lexical_score) FROM ai.grant_matches m JOIN core.grants g USING (grant_id)"
        " WHERE org_id = 'org-harbor-health' AND g.title ILIKE '%oyster%'",
    )[0][0]
    assert coastal_fit > 0.5


def test_discovery_schedule_requests_the_day_within_the_rate_limit(instance):
    from pipeline.defs.grants.schedules import grants_discovery_schedule
    from pipeline.defs.shared.run_limits import DISCOVERY_TAGS

    tick = dt.datetime(2026, 11, 30, 6, tzinfo=dt.UTC)
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
    request = grants_discovery_schedule(context)
    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == "2026-11-30" and request.run_key == "grants-2026-11-30"
    assert request.tags["pipeline/pool"] == "discovery"
    # The request fits the real job: its selection and partitions resolve.
    job = code_location().resolve_job_def("grants_discovery_job")
    assert job.partitions_def.has_partition_key(request.partition_key)

    @dg.asset
    def probe() -> int:
        return 1

    for _ in range(5):
        dg.materialize([probe], instance=instance, tags=DISCOVERY_TAGS)
    skipped = grants_discovery_schedule(context)
    assert isinstance(skipped, dg.SkipReason) and "rate limit" in skipped.skip_message
