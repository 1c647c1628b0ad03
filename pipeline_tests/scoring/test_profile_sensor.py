import datetime as dt

import dagster as dg
import yaml

from pipeline.defs.scoring import assets, sensors
from pipeline.defs.scoring.ai_resource import ScoringAIResource
from pipeline.defs.shared.resources import warehouse_resource
from pipeline.lib import warehouse
from pipeline_tests.scoring.conftest import GRANTS, PARTITION, seed_grants, seed_orgs

PROFILES = {
    "organizations": [
        {"org_id": "org-learn", "name": "Bright Futures Learning", "keywords": ["STEM"]},
        {"org_id": "org-heart", "name": "Heartland Cardiology Institute", "keywords": ["heart"]},
    ]
}


def write_profiles(config_dir, document) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "organizations.yaml").write_text(yaml.safe_dump(document))


def evaluate(instance, definitions, cursor):
    context = dg.build_sensor_context(instance=instance, definitions=definitions, cursor=cursor)
    result = sensors.organization_profile_sensor(context)
    return result, context.cursor


def test_changed_profile_rematches_that_org_over_all_partitions_in_one_run(
    instance, warehouse_path, tmp_path, monkeypatch
):
    config_dir = tmp_path / "config"
    monkeypatch.setenv("PIPELINE_CONFIG_DIR", str(config_dir))
    write_profiles(config_dir, PROFILES)
    definitions = dg.Definitions(
        assets=[assets.grant_matches],
        sensors=[sensors.organization_profile_sensor],
        resources={"warehouse": warehouse_resource(), "scoring_ai": ScoringAIResource()},
    )

    for day in ("2026-01-05", "2026-02-09"):
        instance.report_runless_asset_event(dg.AssetMaterialization("grants", partition=day))

    baseline, cursor = evaluate(instance, definitions, None)
    assert isinstance(baseline, dg.SkipReason) and "baseline" in baseline.skip_message
    unchanged, cursor = evaluate(instance, definitions, cursor)
    assert isinstance(unchanged, dg.SkipReason)

    edited = {
        "organizations": [
            PROFILES["organizations"][0],
            {**PROFILES["organizations"][1], "keywords": ["cardiology"]},
        ]
    }
    write_profiles(config_dir, edited)
    request, cursor = evaluate(instance, definitions, cursor)
    assert isinstance(request, dg.RunRequest)
    assert request.asset_selection == [dg.AssetKey("grant_matches")]
    assert request.run_config["ops"]["grant_matches"]["config"]["org_ids"] == ["org-heart"]
    assert request.tags["dagster/asset_partition_range_start"] == "2026-01-05"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-02-09"
    again, _ = evaluate(instance, definitions, cursor)
    assert isinstance(again, dg.SkipReason)

    # Run the request as the daemon would: one run over the whole range, only org-heart.
    seed_orgs(warehouse_path)
    seed_grants(warehouse_path, GRANTS[:2], partition=dt.date(2026, 1, 5))
    seed_grants(warehouse_path, GRANTS[2:], partition=dt.date(2026, 2, 9))
    with warehouse.connection(warehouse_path) as conn:
        conn.execute(
            "INSERT INTO ai.grant_matches VALUES ('org-learn', 'G-EDU', 'tenant-a', 0.5, 0.5,"
            " ['old'], 'local', 'm', 0.5, true, NULL, DATE '2026-01-05', now())"
        )
    result = dg.materialize(
        [assets.grant_matches],
        instance=instance,
        resources=definitions.resources,
        run_config=request.run_config,
        tags=request.tags,
    )
    assert result.success
    partitions = {e.partition for e in result.get_asset_materialization_events()}
    assert len(partitions) == 36  # 2026-01-05 .. 2026-02-09, one run
    with warehouse.connection(warehouse_path) as conn:
        matched = conn.execute(
            "SELECT org_id, grant_id, partition_date::VARCHAR, reasons FROM ai.grant_matches"
            " ORDER BY 1, 2"
        ).fetchall()
    heart = [m for m in matched if m[0] == "org-heart"]
    assert {(m[1], m[2]) for m in heart} == {
        ("G-EDU", "2026-01-05"),
        ("G-HEALTH", "2026-01-05"),
        ("G-CLOSED", "2026-02-09"),
    }
    # The other organisation's rows are untouched.
    assert [m for m in matched if m[0] == "org-learn"] == [
        ("org-learn", "G-EDU", "2026-01-05", ["old"])
    ]


def test_selection_includes_organizations_when_the_location_defines_it(
    instance, tmp_path, monkeypatch
):
    config_dir = tmp_path / "config"
    monkeypatch.setenv("PIPELINE_CONFIG_DIR", str(config_dir))

    @dg.asset(name="organizations")
    def organizations() -> None:
        return None

    definitions = dg.Definitions(
        assets=[organizations, assets.grant_matches],
        sensors=[sensors.organization_profile_sensor],
        resources={"warehouse": warehouse_resource(), "scoring_ai": ScoringAIResource()},
    )
    write_profiles(config_dir, PROFILES)
    _, cursor = evaluate(instance, definitions, None)
    write_profiles(config_dir, {"organizations": PROFILES["organizations"][:1]})
    waiting, cursor = evaluate(instance, definitions, cursor)
    assert isinstance(waiting, dg.SkipReason) and "nothing was scored yet" in waiting.skip_message
    instance.report_runless_asset_event(dg.AssetMaterialization("grants", partition="2026-03-02"))
    write_profiles(config_dir, {"organizations": []})
    request, _ = evaluate(instance, definitions, cursor)
    assert request.asset_selection == [dg.AssetKey("organizations"), dg.AssetKey("grant_matches")]
    # A removed organisation is re-matched too, which deletes its stale matches.
    assert request.run_config["ops"]["grant_matches"]["config"]["org_ids"] == ["org-learn"]


def test_profiles_file_formats(tmp_path):
    from pipeline.lib.grants.organizations import profile_hashes

    path = tmp_path / "organizations.yaml"
    assert profile_hashes(path) == {}
    path.write_text(yaml.safe_dump([{"id": "a", "name": "A"}]))
    assert list(profile_hashes(path)) == ["a"]
    path.write_text(yaml.safe_dump({"b": {"name": "B"}}))
    assert list(profile_hashes(path)) == ["b"]


def test_changed_client_rescores_only_that_client_in_one_ranged_run(instance, seeded_warehouse):
    from pipeline_tests.scoring.conftest import CLIENTS, seed_clients

    definitions = dg.Definitions(
        assets=[assets.news_scores],
        sensors=[sensors.client_profile_sensor],
        resources={"warehouse": warehouse_resource(), "scoring_ai": ScoringAIResource()},
    )
    instance.report_runless_asset_event(dg.AssetMaterialization("client_news", partition=PARTITION))

    def tick(cursor):
        context = dg.build_sensor_context(
            instance=instance,
            definitions=definitions,
            cursor=cursor,
            resources={"warehouse": warehouse_resource()},
        )
        return sensors.client_profile_sensor(context), context.cursor

    baseline, cursor = tick(None)
    assert isinstance(baseline, dg.SkipReason) and "2 client profile(s)" in baseline.skip_message
    assert isinstance(tick(cursor)[0], dg.SkipReason)

    seed_clients(seeded_warehouse, [{**CLIENTS[1], "aliases": ["Globex", "GBX"]}])
    request, cursor = tick(cursor)
    assert isinstance(request, dg.RunRequest)
    assert request.asset_selection == [dg.AssetKey("news_scores")]
    assert request.run_config == {"ops": {"news_scores": {"config": {"client_ids": ["c-globex"]}}}}
    assert request.tags["dagster/asset_partition_range_start"] == PARTITION
    assert request.tags["dagster/asset_partition_range_end"] == PARTITION
    assert isinstance(tick(cursor)[0], dg.SkipReason)

    result = dg.materialize(
        [assets.news_scores],
        instance=instance,
        resources=definitions.resources,
        run_config=request.run_config,
        tags=request.tags,
    )
    assert result.success
    with warehouse.connection(seeded_warehouse) as conn:
        scored = conn.execute("SELECT client_id FROM ai.news_scores ORDER BY 1").fetchall()
    assert scored == [("c-globex",)]  # only the changed client was (re)scored in this run
