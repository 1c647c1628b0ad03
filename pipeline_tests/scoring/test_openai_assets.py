"""grant_matches and news_scores with the OpenAI scorer configured the way the code location
configures it (dg.EnvVar), against a loopback OpenAI-compatible server."""

import dagster as dg

from pipeline.defs.scoring.ai_resource import ScoringAIResource
from pipeline.defs.scoring.resources import resources as scoring_resources
from pipeline.lib import warehouse
from pipeline_tests.fakes.openai_server import CHAT_PATH, error_reply, serve_openai
from pipeline_tests.scoring.test_assets import materialize, rows

SECRET = "sk-test-5ecret-DO-NOT-LEAK-0123456789"


def env_configured_ai(monkeypatch, base_url: str, **overrides) -> ScoringAIResource:
    """With no overrides: the resource exactly as the code location defines it. Overrides
    (fast backoff, small budgets) need a resource built the same way, by dg.EnvVar."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_BASE_URL", base_url)
    if not overrides:
        return scoring_resources().resources["scoring_ai"]
    return ScoringAIResource(
        api_key=dg.EnvVar("OPENAI_API_KEY"), base_url=dg.EnvVar("OPENAI_BASE_URL"), **overrides
    )


def test_grant_matches_with_openai_cache_usage_and_no_leaked_key(
    seeded_warehouse, http_server, instance, monkeypatch
):
    ai = env_configured_ai(monkeypatch, serve_openai(http_server))
    result = materialize(["grant_matches"], instance=instance, ai=ai)
    assert result.success
    calls = len(http_server.requests_to(CHAT_PATH))
    assert calls >= 2
    assert {k.lower(): v for k, v in http_server.requests_to(CHAT_PATH)[0].headers.items()}[
        "authorization"
    ] == f"Bearer {SECRET}"
    by_scorer = dict(
        rows(seeded_warehouse, "SELECT scorer, count(*) FROM ai.grant_matches GROUP BY 1")
    )
    assert by_scorer["openai"] == calls
    assert rows(seeded_warehouse, "SELECT count(*) FROM ai.score_cache") == [(calls,)]
    metadata = result.asset_materializations_for_node("grant_matches")[0].metadata
    assert metadata["openai.gpt-4o-mini.calls"].value == calls  # dagster-openai's own count
    assert metadata["api_calls"].value == calls
    assert metadata["prompt_tokens"].value == 120 * calls
    assert metadata["estimated_cost_usd"].value > 0
    usage = rows(
        seeded_warehouse,
        "SELECT configured_scorer, model, api_calls, ai_scored, fallbacks FROM ai.usage",
    )
    assert usage == [("openai", "gpt-4o-mini", calls, calls, 0)]
    assert all(e.passed for e in result.get_asset_check_evaluations())

    # Unchanged rerun: every candidate comes from ai.score_cache, no API call.
    again = materialize(["grant_matches"], instance=instance, ai=ai)
    assert again.success and len(http_server.requests_to(CHAT_PATH)) == calls
    assert (
        again.asset_materializations_for_node("grant_matches")[0].metadata["cache_hits"].value
        == calls
    )

    # The key is nowhere: not in event logs, metadata, or any warehouse table.
    for run_id in (result.run_id, again.run_id):
        for record in instance.all_logs(run_id):
            assert SECRET not in str(record)
    with warehouse.connection(seeded_warehouse) as conn:
        tables = conn.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables"
        ).fetchall()
        for (table,) in tables:
            assert SECRET not in str(conn.execute(f"SELECT * FROM {table}").fetchall())


def test_news_scores_fall_back_to_local_when_the_api_is_down(
    seeded_warehouse, http_server, monkeypatch
):
    http_server.add("POST", CHAT_PATH, error_reply(503, retry_after="0"))
    ai = env_configured_ai(monkeypatch, f"{http_server.base_url}/v1", backoff_s=0.01)
    result = materialize(["news_scores"], ai=ai)
    assert result.success
    assert rows(seeded_warehouse, "SELECT DISTINCT scorer FROM ai.news_scores") == [("local",)]
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    fallback = evaluations["news_scores_fallback_share"]
    assert not fallback.passed and fallback.severity == dg.AssetCheckSeverity.WARN
    assert "fell back" in fallback.description
    assert all(e.passed for name, e in evaluations.items() if name != "news_scores_fallback_share")
    (usage,) = rows(seeded_warehouse, "SELECT api_unavailable, fallbacks, message FROM ai.usage")
    assert usage[0] is True and usage[1] >= 1 and "unavailable" in usage[2]


def test_invalid_answers_are_recorded_as_failures_not_scores(
    seeded_warehouse, http_server, monkeypatch
):
    from pipeline_tests.fakes.openai_server import chat_completion

    http_server.add("POST", CHAT_PATH, chat_completion({"relevance": "high"}))
    ai = env_configured_ai(monkeypatch, f"{http_server.base_url}/v1")
    assert materialize(["news_scores"], ai=ai).success
    failures = rows(
        seeded_warehouse,
        "SELECT kind, client_or_item FROM (SELECT kind, subject_id || '/' || item_id AS client_or_item FROM ai.score_failures) ORDER BY 2",
    )
    assert failures and all(kind == "news" for kind, _ in failures)
    assert rows(seeded_warehouse, "SELECT DISTINCT scorer FROM ai.news_scores") == [("local",)]
    assert rows(seeded_warehouse, "SELECT count(*) FROM ai.score_cache") == [(0,)]


def test_without_a_key_the_resource_is_the_local_scorer(seeded_warehouse, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    ai = scoring_resources().resources["scoring_ai"]
    assert not ai.uses_openai
    assert materialize(["news_scores"], ai=ai).success
    assert rows(seeded_warehouse, "SELECT DISTINCT scorer FROM ai.news_scores") == [("local",)]


def test_budget_spent_stops_cleanly_with_a_clear_message(
    seeded_warehouse, http_server, monkeypatch
):
    ai = env_configured_ai(
        monkeypatch, serve_openai(http_server), max_requests_per_run=1, max_concurrency=1
    )
    result = materialize(["grant_matches"], ai=ai)
    assert result.success
    assert len(http_server.requests_to(CHAT_PATH)) == 1
    metadata = result.asset_materializations_for_node("grant_matches")[0].metadata
    assert metadata["budget_exhausted"].value is True
    assert "budget for this run spent" in metadata["notes"].value
    assert metadata["ai_scored"].value == 1 and metadata["fallbacks"].value >= 1
    scorers = dict(
        rows(seeded_warehouse, "SELECT scorer, count(*) FROM ai.grant_matches GROUP BY 1")
    )
    assert scorers["openai"] == 1 and scorers["local"] >= 1
    fallback = {e.check_name: e for e in result.get_asset_check_evaluations()}[
        "grant_matches_fallback_share"
    ]
    assert not fallback.passed and fallback.severity == dg.AssetCheckSeverity.WARN
