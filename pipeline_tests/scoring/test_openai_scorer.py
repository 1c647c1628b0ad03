"""The OpenAI scorer through the real `openai` client against a loopback server."""

import openai
import pytest

from pipeline.lib.scoring.models import Article, ClientProfile
from pipeline.lib.scoring.openai_scorer import MemoryScoreCache, OpenAIScorer
from pipeline_tests.fakes.openai_server import (
    CHAT_PATH,
    chat_completion,
    error_reply,
    request_payload,
    serve_openai,
)

ACME = ClientProfile("c-acme", "tenant-a", "Acme Robotics", ("Acme",), "acmerobotics.com")
GLOBEX = ClientProfile("c-globex", "tenant-b", "Globex", (), "globex.com")
ARTICLES = [
    Article(f"a{i}", f"Acme raises $1{i} million in Series B funding", "Investors back Acme.")
    for i in range(5)
]
VALID_NEWS = {
    "relevance": 0.75,
    "confidence": 0.6,
    "category": "funding",
    "summary": "Acme raised money. Investors are named.",
    "reason": "It is about Acme's funding.",
}


def make_scorer(server, cache=None, sleeps=None, **kwargs) -> OpenAIScorer:
    client = openai.OpenAI(
        api_key="sk-test-not-a-secret", base_url=f"{server.base_url}/v1", max_retries=0
    )
    options = {"max_concurrency": 1, "backoff_s": 0.01, **kwargs}
    return OpenAIScorer(
        client.chat.completions.create,
        cache=cache if cache is not None else MemoryScoreCache(),
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
        **options,
    )


def test_structured_output_is_parsed_and_validated(http_server):
    serve_openai(http_server)
    scorer = make_scorer(http_server)
    scores = scorer.score_news([(ACME, a) for a in ARTICLES[:2]])
    assert [s.scorer for s in scores] == ["openai", "openai"]
    assert scores[0].category == "funding" and scores[0].relevance == 0.8
    assert scores[0].summary.count(".") == 2 and scores[0].cache_key
    body = http_server.requests_to(CHAT_PATH)[0].json()
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    assert (
        request_payload(http_server.requests_to(CHAT_PATH)[0])["client"]["name"] == "Acme Robotics"
    )
    assert scorer.stats.api_calls == 2 and scorer.stats.ai_scored == 2
    assert scorer.stats.prompt_tokens == 240 and scorer.stats.completion_tokens == 80
    assert scorer.stats.estimated_cost_usd > 0


def test_prefilter_keeps_unrelated_pairs_local_without_a_call(http_server):
    serve_openai(http_server)
    scorer = make_scorer(http_server)
    unrelated = Article("x", "Ten gardening tips for spring", "Plant tomatoes after the frost.")
    (score,) = scorer.score_news([(ACME, unrelated)])
    assert score.scorer == "local"
    assert http_server.requests_to(CHAT_PATH) == []
    assert scorer.stats.ai_candidates == 0 and scorer.stats.fallbacks == 0


def test_429_is_retried_after_the_retry_after_delay(http_server):
    http_server.add(
        "POST", CHAT_PATH, error_reply(429, retry_after="2"), chat_completion(VALID_NEWS)
    )
    sleeps: list[float] = []
    scorer = make_scorer(http_server, sleeps=sleeps)
    (score,) = scorer.score_news([(ACME, ARTICLES[0])])
    assert score.scorer == "openai" and score.relevance == 0.75
    assert len(http_server.requests_to(CHAT_PATH)) == 2
    assert sleeps == [2.0]
    assert scorer.stats.api_calls == 2 and scorer.stats.fallbacks == 0


def test_persistent_500s_fall_back_to_local_and_stop_calling(http_server):
    http_server.add("POST", CHAT_PATH, error_reply(500))
    scorer = make_scorer(http_server, max_attempts=3, unavailable_after=2)
    scores = scorer.score_news([(ACME, a) for a in ARTICLES])
    assert [s.scorer for s in scores] == ["local"] * 5
    assert all(s.model == "lexical-rules-v2" for s in scores)
    # Two pairs give up after three tries each; the API is then considered down.
    assert len(http_server.requests_to(CHAT_PATH)) == 6
    assert scorer.stats.api_unavailable and scorer.stats.fallbacks == 5
    assert scorer.stats.failures == 0 and scorer.failures == []
    assert any("unavailable" in m for m in scorer.stats.messages)


def test_invalid_output_is_retried_once_then_recorded_as_a_failure(http_server):
    bad = {**VALID_NEWS, "relevance": 7}
    http_server.add("POST", CHAT_PATH, chat_completion(bad), chat_completion("not json"))
    scorer = make_scorer(http_server)
    (score,) = scorer.score_news([(ACME, ARTICLES[0])])
    assert score.scorer == "local"
    assert len(http_server.requests_to(CHAT_PATH)) == 2
    assert scorer.stats.failures == 1 and scorer.stats.fallbacks == 1
    (failure,) = scorer.failures
    assert failure["item_id"] == "a0" and failure["tenant_id"] == "tenant-a"
    assert "not JSON" in failure["error"]


def test_a_refusal_then_a_valid_answer_counts_as_scored(http_server):
    http_server.add(
        "POST",
        CHAT_PATH,
        chat_completion(None, refusal="I can't help with that."),
        chat_completion(VALID_NEWS),
    )
    scorer = make_scorer(http_server)
    (score,) = scorer.score_news([(ACME, ARTICLES[0])])
    assert score.scorer == "openai" and scorer.stats.failures == 0


def test_budget_stops_cleanly_and_the_rest_keep_local_scores(http_server):
    serve_openai(http_server)
    scorer = make_scorer(http_server, max_requests=2)
    scores = scorer.score_news([(ACME, a) for a in ARTICLES])
    assert [s.scorer for s in scores].count("openai") == 2
    assert [s.scorer for s in scores].count("local") == 3
    assert len(http_server.requests_to(CHAT_PATH)) == 2
    assert scorer.stats.budget_exhausted
    assert any("budget for this run spent" in m for m in scorer.stats.messages)


def test_token_budget_stops_before_the_first_oversized_request(http_server):
    serve_openai(http_server)
    scorer = make_scorer(http_server, max_tokens=100)
    scores = scorer.score_news([(ACME, ARTICLES[0])])
    assert scores[0].scorer == "local" and http_server.requests_to(CHAT_PATH) == []
    assert scorer.stats.budget_exhausted


def test_cache_makes_an_unchanged_rerun_free_and_a_changed_profile_rescores_only_itself(
    http_server,
):
    serve_openai(http_server)
    cache = MemoryScoreCache()
    globex_news = Article("g1", "Globex raises $5 million", "Globex funding round.")
    pairs = [(ACME, ARTICLES[0]), (ACME, ARTICLES[1]), (GLOBEX, globex_news)]
    make_scorer(http_server, cache=cache).score_news(pairs)
    assert len(http_server.requests_to(CHAT_PATH)) == 3

    rerun = make_scorer(http_server, cache=cache)
    scores = rerun.score_news(pairs)
    assert len(http_server.requests_to(CHAT_PATH)) == 3  # zero new calls
    assert all(s.scorer == "openai" for s in scores) and rerun.stats.cache_hits == 3

    renamed = ClientProfile("c-globex", "tenant-b", "Globex", ("Globex Corp",), "globex.com")
    changed = make_scorer(http_server, cache=cache)
    changed.score_news([(ACME, ARTICLES[0]), (ACME, ARTICLES[1]), (renamed, globex_news)])
    calls = http_server.requests_to(CHAT_PATH)[3:]
    assert [request_payload(c)["client"]["name"] for c in calls] == ["Globex"]
    assert changed.stats.cache_hits == 2


@pytest.mark.parametrize("status", [401, 404])
def test_auth_or_missing_model_marks_the_api_down_at_once(http_server, status):
    http_server.add("POST", CHAT_PATH, error_reply(status))
    scorer = make_scorer(http_server)
    scores = scorer.score_news([(ACME, a) for a in ARTICLES])
    assert all(s.scorer == "local" for s in scores)
    assert len(http_server.requests_to(CHAT_PATH)) == 1
    assert scorer.stats.api_unavailable


def test_grant_scores_from_the_model_keep_the_deadline_reason(http_server):
    import datetime as dt

    from pipeline.lib.scoring.models import Grant, OrgProfile

    serve_openai(http_server)
    org = OrgProfile("o", "t", "Readers", "youth literacy programs", ("literacy",))
    grant = Grant("g", "Youth literacy programs", close_date=dt.date(2026, 4, 1))
    (score,) = make_scorer(http_server).score_grants([(org, grant)], dt.date(2026, 3, 2))
    assert score.scorer == "openai" and score.score == 0.9
    assert score.reasons == ("Strong fit with the mission.", "closes on 2026-04-01")


def test_a_401_body_never_reaches_the_messages(http_server):
    from pipeline_tests.fakes.http_server import Reply

    http_server.add(
        "POST",
        CHAT_PATH,
        Reply(401, {"error": {"message": "Incorrect API key provided: sk-test-not-a-secret"}}),
    )
    scorer = make_scorer(http_server)
    scorer.score_news([(ACME, ARTICLES[0])])
    assert scorer.stats.api_unavailable
    assert "sk-test" not in " ".join(scorer.stats.messages)


def test_the_model_sees_the_profile_and_the_category_definitions(http_server):
    """An agency never named in its news reaches the model through its keywords, and the
    prompt defines each category so 'CEO sells shares' is not a leadership change."""
    serve_openai(http_server)
    agency = ClientProfile(
        "c-agency",
        "tenant-a",
        "Lantern & Finch",
        keywords=("AdWords",),
        not_interested_in=("stock trading",),
        languages=("en",),
    )
    article = Article("x", "Announcing v201605 of the AdWords API", "A new AdWords API version.")
    (score,) = make_scorer(http_server).score_news([(agency, article)])
    assert score.scorer == "openai"  # the local prefilter passed it on: its keyword is there
    request = http_server.requests_to(CHAT_PATH)[0]
    client = request_payload(request)["client"]
    assert client["keywords"] == ["AdWords"] and client["not_interested_in"] == ["stock trading"]
    system = request.json()["messages"][0]["content"]
    assert "leadership_change: people joining" in system and "0.6 and above" in system
