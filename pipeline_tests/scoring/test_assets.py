import dagster as dg
import pytest

from pipeline.defs.scoring import assets, checks
from pipeline.defs.scoring.ai_resource import ScoringAIResource
from pipeline.defs.shared.resources import warehouse_resource
from pipeline.lib import warehouse
from pipeline_tests.scoring.conftest import PARTITION

# As the defs loader finds them (module-level names and lists).
ALL_CHECKS = dg.load_asset_checks_from_modules([checks])


def materialize(
    selection, instance=None, run_config=None, partition_key=PARTITION, ai=None, **kwargs
):
    return dg.materialize(
        [assets.grant_matches, assets.news_scores, assets.ai_score_distribution, *ALL_CHECKS],
        selection=selection,
        partition_key=partition_key,
        resources={"warehouse": warehouse_resource(), "scoring_ai": ai or ScoringAIResource()},
        instance=instance,
        run_config=run_config,
        **kwargs,
    )


def rows(path, sql):
    with warehouse.connection(path) as conn:
        return conn.execute(sql).fetchall()


def test_grant_matches_score_matchable_orgs_with_tenant_and_pass_checks(seeded_warehouse):
    result = materialize(["grant_matches"])
    assert result.success
    matches = rows(
        seeded_warehouse,
        "SELECT org_id, grant_id, tenant_id, score, scorer, is_sample, partition_date::VARCHAR"
        " FROM ai.grant_matches ORDER BY org_id, grant_id",
    )
    # Two matchable orgs × three grants; the incomplete profile is not matched.
    assert len(matches) == 6
    assert {m[0] for m in matches} == {"org-learn", "org-heart"}
    assert all(m[4] == "local" and m[5] is True and m[6] == PARTITION for m in matches)
    assert {(m[0], m[2]) for m in matches} == {("org-learn", "tenant-a"), ("org-heart", "tenant-b")}
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations)
    metadata = result.asset_materializations_for_node("grant_matches")[0].metadata
    assert metadata["dagster/row_count"].value == 6
    assert metadata["configured_scorer"].value == "local"
    usage = rows(seeded_warehouse, "SELECT asset, configured_scorer, pairs FROM ai.usage")
    assert usage == [("grant_matches", "local", 6)]


def test_rerun_replaces_the_partition_instead_of_adding(seeded_warehouse):
    assert materialize(["grant_matches", "news_scores"]).success
    assert materialize(["grant_matches", "news_scores"]).success
    assert rows(seeded_warehouse, "SELECT count(*) FROM ai.grant_matches") == [(6,)]
    assert rows(seeded_warehouse, "SELECT count(*) FROM ai.news_scores") == [(3,)]


def test_org_filter_rescoring_touches_only_that_org(seeded_warehouse):
    assert materialize(["grant_matches"]).success
    before = dict(
        rows(seeded_warehouse, "SELECT org_id || grant_id, scored_at FROM ai.grant_matches")
    )
    config = {"ops": {"grant_matches": {"config": {"org_ids": ["org-heart"]}}}}
    assert materialize(["grant_matches"], run_config=config).success
    after = dict(
        rows(seeded_warehouse, "SELECT org_id || grant_id, scored_at FROM ai.grant_matches")
    )
    assert after.keys() == before.keys()
    changed = {k for k in after if after[k] != before[k]}
    assert changed and all(k.startswith("org-heart") for k in changed)


def test_news_scores_never_cross_tenants(seeded_warehouse):
    result = materialize(["news_scores"])
    assert result.success
    scored = rows(
        seeded_warehouse,
        "SELECT client_id, article_id, tenant_id, category, scorer FROM ai.news_scores ORDER BY 2",
    )
    assert [(r[0], r[1], r[2]) for r in scored] == [
        ("c-acme", "a1", "tenant-a"),
        ("c-acme", "a2", "tenant-a"),
        ("c-globex", "a3", "tenant-b"),
    ]
    assert scored[0][3] == "m_and_a" and scored[2][3] == "leadership_change"
    metadata = result.asset_materializations_for_node("news_scores")[0].metadata
    assert metadata["cross_tenant_skipped"].value == 1
    assert all(e.passed for e in result.get_asset_check_evaluations())


@pytest.mark.parametrize("asset", ["grant_matches", "news_scores"])
def test_missing_or_empty_upstream_gives_zero_rows_and_says_so(warehouse_path, asset):
    result = materialize([asset])
    assert result.success
    metadata = result.asset_materializations_for_node(asset)[0].metadata
    assert metadata["dagster/row_count"].value == 0
    # Before the upstream domain's migration exists the table is missing; after, it is empty.
    notes = metadata["notes"].value
    assert "not created yet" in notes or "no client news" in notes or "no grants" in notes
    assert all(e.passed for e in result.get_asset_check_evaluations())


def test_out_of_range_score_fails_the_blocking_check(seeded_warehouse):
    assert materialize(["grant_matches"]).success
    with warehouse.connection(seeded_warehouse) as conn:
        conn.execute("UPDATE ai.grant_matches SET score = 1.5 WHERE grant_id = 'G-EDU'")
    result = materialize(
        dg.AssetSelection.checks(
            dg.AssetCheckKey(dg.AssetKey("grant_matches"), "grant_matches_score_range")
        ),
        partition_key=None,
        raise_on_error=False,
    )
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR


def test_upstream_without_optional_columns_still_scores(warehouse_path):
    """A grants domain whose tables lack optional columns (here is_matchable, budgets,
    eligibility) still gets matches, with a note naming what was defaulted."""
    with warehouse.connection(warehouse_path) as conn:
        conn.execute("DROP TABLE IF EXISTS core.organizations")
        conn.execute("DROP TABLE IF EXISTS core.grants")
        conn.execute(
            "CREATE TABLE core.organizations (org_id VARCHAR, tenant_id VARCHAR, name VARCHAR, mission VARCHAR)"
        )
        conn.execute(
            "INSERT INTO core.organizations VALUES ('o1', 't1', 'Readers', 'youth literacy')"
        )
        conn.execute(
            "CREATE TABLE core.grants (grant_id VARCHAR, title VARCHAR, partition_date DATE)"
        )
        conn.execute(
            f"INSERT INTO core.grants VALUES ('g1', 'Youth literacy grants', DATE '{PARTITION}')"
        )
    result = materialize(["grant_matches"])
    assert result.success
    assert rows(warehouse_path, "SELECT org_id, grant_id, tenant_id FROM ai.grant_matches") == [
        ("o1", "g1", "t1")
    ]
    notes = result.asset_materializations_for_node("grant_matches")[0].metadata["notes"].value
    assert "core.organizations has no" in notes and "is_matchable" in notes
