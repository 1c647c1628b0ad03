"""`pipeline search` over the bundled sample grants: a broad topic finds the grants written in
its usual words, and a query that matches nothing names the nearest indexed words."""

from pathlib import Path

from click.testing import CliRunner

from pipeline.cli import main
from pipeline.lib.grants.feeds import grant_feed_items, normalise_feed_item
from pipeline.lib.scoring.search import SearchDocument, search_documents

SAMPLE_FEED = Path(__file__).parents[2] / "data/samples/grants/feeds/green_futures_fund.atom"


def sample_feed_documents() -> list[SearchDocument]:
    records = [
        normalise_feed_item(item) for item in grant_feed_items(SAMPLE_FEED.read_bytes(), "sample")
    ]
    return [
        SearchDocument("grant", r.source_id, r.title, f"{r.title} {r.description}", "", "")
        for r in records
    ]


def test_climate_finds_the_coastal_resilience_grant():
    documents = sample_feed_documents()
    assert not any("climat" in d.text.lower() for d in documents)  # the word itself is absent
    outcome = search_documents(documents, "climate")
    assert outcome.hits, "a broad topic finds grants written in its usual words"
    assert outcome.hits[0].document.title == "Coastal Resilience Small Grants 2027"
    assert outcome.missing == ("climate",)
    assert "resilience" in outcome.related


def test_a_query_the_own_word_matches_ranks_above_related_words():
    documents = [
        SearchDocument("grant", "a", "Coastal resilience", "coastal resilience grants", "", ""),
        SearchDocument("grant", "b", "Climate research", "climate research fellowship", "", ""),
    ]
    outcome = search_documents(documents, "climate")
    assert [h.document.id for h in outcome.hits] == ["b", "a"]
    assert outcome.missing == ()


def test_nothing_matched_names_the_nearest_terms():
    outcome = search_documents(sample_feed_documents(), "restorasion")
    assert outcome.hits == []
    assert "restoration" in outcome.nearest


def test_cli_says_nearest_terms_and_related_words(seeded_warehouse):
    runner = CliRunner()
    nothing = runner.invoke(main, ["search", "literacie"])
    assert nothing.exit_code == 0, nothing.output
    assert "no match for 'literacie'" in nothing.output
    assert "nearest terms in the index: literacy" in nothing.output
    unrelated = runner.invoke(main, ["search", "zzzqqq"])
    assert "no indexed word is spelled like it" in unrelated.output


def test_a_related_phrase_counts_only_where_all_its_words_are():
    documents = [
        SearchDocument("grant", "a", "Reading", "grade level reading for rising students", "", ""),
        SearchDocument("grant", "b", "Shores", "planning for sea level rise on the coast", "", ""),
    ]
    assert [h.document.id for h in search_documents(documents, "climate").hits] == ["b"]
