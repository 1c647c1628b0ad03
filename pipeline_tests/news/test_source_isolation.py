"""Through the assets: a live provider failing is recorded and the others still deliver."""

import json

from pipeline.defs.news.providers import NewsSourcesResource
from pipeline.lib.settings import REPO_ROOT
from pipeline_tests.fakes.http_server import Reply
from pipeline_tests.news.conftest import materialize_news

SAMPLES = REPO_ROOT / "data" / "samples" / "news"


def test_failing_provider_never_fails_the_others(instance, http_server, news_warehouse):
    http_server.add(
        "GET",
        "/v2/everything",
        Reply(
            401, {"status": "error", "code": "apiKeyInvalid", "message": "Your API key is invalid."}
        ),
    )
    serper = json.loads((SAMPLES / "serper_news.json").read_text())
    http_server.add("POST", "/news", Reply(200, serper))
    sources = NewsSourcesResource(
        newsapi_key="bad-key",
        newsapi_base_url=http_server.base_url,
        serper_api_key="good-key",
        serper_base_url=http_server.base_url,
        max_attempts=1,
        timeout_s=2,
    )
    result = materialize_news(instance, resources={"news_sources": sources})
    assert result.success
    with news_warehouse() as conn:
        statuses = dict(
            conn.execute(
                "SELECT provider, string_agg(DISTINCT status) FROM raw.source_fetches GROUP BY 1"
            ).fetchall()
        )
        errors = conn.execute(
            "SELECT DISTINCT error FROM raw.source_fetches WHERE status = 'error'"
        ).fetchall()
        live_serper = conn.execute(
            "SELECT count(*) FROM core.client_news WHERE provider = 'serper' AND NOT is_sample"
        ).fetchall()[0][0]
    assert statuses == {"newsapi": "error", "serper": "ok", "google_cse": "ok", "rss": "ok"}
    assert all("apiKeyInvalid" in e[0] and "bad-key" not in e[0] for e in errors)
    assert live_serper > 0
    materialization = result.asset_materializations_for_node("raw_news_events")[0]
    assert materialization.metadata["failed_sources"].value == 7
