import dagster as dg
import polars as pl

from pipeline_tests.news.conftest import TODAY, materialize_news


def test_news_assets_materialise_on_samples(instance, news_warehouse):
    result = materialize_news(instance)
    assert result.success
    with news_warehouse() as conn:
        clients = conn.execute(
            "SELECT count(*), count(DISTINCT tenant_id) FROM core.crm_clients"
        ).fetchall()[0]
        assert clients == (7, 2)
        raw = conn.execute(
            "SELECT count(*), bool_and(is_sample), count(DISTINCT provider) FROM raw.events"
            " WHERE kind = 'news'"
        ).fetchall()[0]
        assert raw[0] > 20 and raw[1] and raw[2] == 4
        rows = conn.sql(
            "SELECT client_id, tenant_id, canonical_url, near_duplicate_of, is_sample,"
            " published_at FROM core.client_news ORDER BY client_id, published_at"
        ).pl()
    assert rows["is_sample"].all()
    # One sample search result carries no date at all (as Custom Search often does).
    assert rows["published_at"].null_count() == 1
    # No canonical URL twice per client, and no tracking parameter survives.
    assert rows.select("client_id", "canonical_url").is_unique().all()
    assert not rows["canonical_url"].str.contains("utm_|fbclid|gclid|#").any()
    # The Yahoo copy of the Reuters story is grouped, not dropped.
    copies = rows.filter(pl.col("near_duplicate_of").is_not_null())
    assert "acme-northwind" in copies["client_id"].to_list()


def test_rerun_changes_nothing(instance, news_warehouse):
    materialize_news(instance)
    with news_warehouse() as conn:
        before = (
            conn.execute("SELECT count(*) FROM raw.events").fetchall()[0][0],
            conn.execute("SELECT count(*) FROM core.client_news").fetchall()[0][0],
        )
    materialize_news(instance)
    with news_warehouse() as conn:
        after = (
            conn.execute("SELECT count(*) FROM raw.events").fetchall()[0][0],
            conn.execute("SELECT count(*) FROM core.client_news").fetchall()[0][0],
        )
    assert before == after


def test_unknown_client_fails_with_clear_message(instance):
    result = materialize_news(instance, clients=["nobody"], raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert "unknown client id(s) nobody" in str(failure.event_specific_data.error)
    assert TODAY


def test_tenant_isolation_in_the_warehouse(instance, news_warehouse):
    """Every row carries its client's tenant; a story about a client both tenants follow is
    stored once per tenant's client and grouped only within it."""
    materialize_news(instance)
    with news_warehouse() as conn:
        mismatched = conn.execute(
            "SELECT count(*) FROM core.client_news n JOIN core.crm_clients c USING (client_id)"
            " WHERE n.tenant_id <> c.tenant_id"
        ).fetchall()[0][0]
        raw_mismatched = conn.execute(
            "SELECT count(*) FROM raw.events e JOIN core.crm_clients c ON c.client_id = e.scope"
            " WHERE e.kind = 'news' AND e.tenant_id IS DISTINCT FROM c.tenant_id"
        ).fetchall()[0][0]
        helix = conn.execute(
            "SELECT tenant_id, count(*) FROM core.client_news"
            " WHERE canonical_url = 'https://endpts.com/genova-sues-helix-biotherapeutics-patents'"
            " GROUP BY 1 ORDER BY 1"
        ).fetchall()
        cross_tenant_groups = conn.execute(
            "SELECT count(*) FROM core.client_news copy JOIN core.client_news original"
            " ON original.article_id = copy.near_duplicate_of AND original.client_id = copy.client_id"
            " WHERE copy.tenant_id <> original.tenant_id"
        ).fetchall()[0][0]
        dangling = conn.execute(
            "SELECT count(*) FROM core.client_news copy WHERE near_duplicate_of IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM core.client_news original"
            " WHERE original.article_id = copy.near_duplicate_of"
            " AND original.client_id = copy.client_id AND original.tenant_id = copy.tenant_id)"
        ).fetchall()[0][0]
    assert mismatched == 0 and raw_mismatched == 0
    assert helix == [("acme", 1), ("globex", 1)]
    assert cross_tenant_groups == 0 and dangling == 0
