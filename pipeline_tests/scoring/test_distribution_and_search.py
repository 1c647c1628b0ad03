from click.testing import CliRunner

from pipeline.cli import main
from pipeline.defs.scoring import assets
from pipeline.lib.scoring.search import SearchDocument, search
from pipeline_tests.scoring.test_assets import materialize, rows


def test_ai_score_distribution_buckets_every_score(seeded_warehouse):
    assert materialize(["grant_matches", "news_scores"]).success
    result = materialize([assets.ai_score_distribution.key], partition_key=None)
    assert result.success
    (total,) = rows(
        seeded_warehouse,
        "SELECT sum(pairs) FROM analytics.ai_score_distribution",
    )[0]
    assert total == 6 + 3
    by_kind = dict(
        rows(
            seeded_warehouse,
            "SELECT kind, sum(pairs)::INT FROM analytics.ai_score_distribution GROUP BY 1",
        )
    )
    assert by_kind == {"grant": 6, "news": 3}
    assert rows(
        seeded_warehouse,
        "SELECT count(*) FROM analytics.ai_score_distribution WHERE bucket NOT BETWEEN 0 AND 9",
    ) == [(0,)]
    metadata = result.asset_materializations_for_node("ai_score_distribution")[0].metadata
    assert "grant** (6 pairs)" in metadata["histogram"].value
    assert metadata["grant_local_pairs"].value == 6
    # Rebuilding replaces, never adds.
    assert materialize([assets.ai_score_distribution.key], partition_key=None).success
    assert rows(seeded_warehouse, "SELECT sum(pairs) FROM analytics.ai_score_distribution") == [
        (9,)
    ]


def test_search_ranks_by_bm25():
    docs = [
        SearchDocument("grant", "g1", "Youth literacy", "youth literacy after-school", "", ""),
        SearchDocument("grant", "g2", "Cardiology", "rural hospital cardiology research", "", ""),
        SearchDocument("news", "c/a", "Literacy app", "an app for literacy", "", ""),
    ]
    hits = search(docs, "youth literacy")
    assert [h.document.id for h in hits] == ["g1", "c/a"]
    assert search(docs, "nothing matches this") == []


def test_pipeline_search_cli(seeded_warehouse):
    runner = CliRunner()
    result = runner.invoke(main, ["search", "youth", "literacy"])
    assert result.exit_code == 0, result.output
    # The hits follow a SAMPLE DATA line when they come from samples.
    first = next(line for line in result.output.splitlines() if line.lstrip().startswith("1."))
    assert "[grant]" in first and "Literacy" in first
    as_json = runner.invoke(main, ["search", "acquire", "--kind", "news", "--json"])
    assert as_json.exit_code == 0
    assert '"id": "c-acme/a1"' in as_json.output
    tenant_b = runner.invoke(main, ["search", "acquire", "--kind", "news", "--tenant", "tenant-b"])
    assert "c-acme" not in tenant_b.output


def test_pipeline_search_without_a_warehouse_says_what_to_do(pipeline_env):
    result = CliRunner().invoke(main, ["search", "anything"])
    assert result.exit_code == 1
    assert "pipeline demo" in result.output
