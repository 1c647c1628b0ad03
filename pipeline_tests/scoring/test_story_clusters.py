"""One story once: other outlets' own reports of one event (not only near-copies) are one item
in a digest, which names the outlets that also reported it. Articles are the bundled samples,
read through the news parsers; categories come from the local scorer's classifier."""

import datetime as dt
import json
from pathlib import Path

import polars as pl

from pipeline.lib.news.parsers import feed_items, newsapi_items, parse_item, serper_items
from pipeline.lib.news.stories import Report, news_stories
from pipeline.lib.notify.digest_sections import items_per_user
from pipeline.lib.notify.routing import Routed
from pipeline.lib.scoring.categories import classify

SAMPLES = Path(__file__).parents[2] / "data/samples/news"
FETCHED = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)
CLIENTS = ("Northwind Robotics", "Helix Biotherapeutics", "Quarry Analytics", "BluePeak Energy")


def sample_articles():
    items = [
        ("newsapi", item)
        for item in newsapi_items(json.loads((SAMPLES / "newsapi_everything.json").read_text()))
    ]
    items += [
        ("serper", item)
        for item in serper_items(json.loads((SAMPLES / "serper_news.json").read_text()))
    ]
    for feed in sorted((SAMPLES / "feeds").iterdir()):
        items += [("rss", item) for item in feed_items(feed.read_bytes(), feed_url=feed.name)]
    articles = [parse_item(provider, item, fetched_at=FETCHED) for provider, item in items]
    return [a for a in articles if a is not None]


def digest_rows(user="alice"):
    rows = []
    for number, article in enumerate(sample_articles()):
        client = next((c for c in CLIENTS if c in article.title), None)
        if client is None:
            continue
        rows.append(
            {
                "user_id": user,
                "item_key": f"news:{client}:{number}",
                "client_id": client.split()[0].lower(),
                "client_name": client,
                "article_id": str(number),
                "tenant_id": "acme",
                "title": article.title,
                "url": article.url,
                "source_name": article.source_name,
                "published_at": article.published_at,
                "relevance": 0.9 - number / 100,
                "category": classify(article.title, article.description)[0],
                "summary": article.description,
                "is_sample": True,
            }
        )
    return rows


def stories_by_title(rows):
    frame = pl.DataFrame(rows)
    stories = news_stories(frame).join(frame, on=["client_id", "article_id"])
    grouped = stories.group_by("story").agg(pl.col("title").sort())
    return {tuple(titles) for titles in grouped["title"].to_list()}


def test_reports_of_one_funding_round_and_a_lawsuit_with_its_statement_are_one_story_each():
    stories = stories_by_title(digest_rows())
    funding = next(s for s in stories if any("$120M" in t for t in s))
    assert any("valued at $1.1 billion" in t for t in funding)  # Reuters' own words
    lawsuit = next(s for s in stories if any("sues Helix" in t for t in s))
    assert lawsuit == (
        "Genova Pharma sues Helix Biotherapeutics over gene-editing delivery patents",
        "Helix Biotherapeutics statement on the Genova Pharma lawsuit",
    )
    # Other news of the same clients in the same week stays apart.
    for title in (
        "Northwind Robotics appoints Elena Vasquez as Chief Financial Officer",
        "Northwind Robotics opens 250,000 sq ft robot factory in Austin",
        "Helix Biotherapeutics reports positive Phase 2 data for liver disease therapy HLX-204",
        "Helix Biotherapeutics appoints Dr. Amara Obi as Chief Medical Officer",
        "Quarry Analytics raises $30 million Series B led by Lindqvist Capital",
    ):
        assert (title,) in stories, title


def test_digest_shows_one_item_naming_the_outlets_that_also_reported_it():
    rows = digest_rows()
    no_grants = pl.DataFrame(schema={"score": pl.Float64})
    users = items_per_user(Routed(no_grants, pl.DataFrame(), pl.DataFrame(rows)), cap=50)
    (section,) = users["alice"].render(dt.date(2026, 11, 21))
    funding = [i for i in section.items if "Northwind" in i.title and i.badge == "funding"]
    assert len(funding) == 1
    assert "Also reported by Reuters and Yahoo Finance" in funding[0].details
    lawsuit = [i for i in section.items if "Genova" in i.title]
    assert len(lawsuit) == 1
    assert "Also reported by Helix Biotherapeutics - News" in lawsuit[0].details
    # Every report is delivered with the story it joined: none comes back in the next digest.
    assert set(users["alice"].keys) == {r["item_key"] for r in rows}


def test_same_client_same_category_but_another_event_is_another_story():
    week = dt.datetime(2026, 11, 19, tzinfo=dt.UTC)
    round_c = Report.of(
        "Northwind Robotics",
        "funding",
        week,
        "Northwind Robotics raises $120M Series C",
        "The round was led by Granite Ventures.",
    )
    months_later = Report.of(
        "Northwind Robotics",
        "funding",
        week + dt.timedelta(days=120),
        "Northwind Robotics raises $120M Series C",
        "The round was led by Granite Ventures.",
    )
    other_round = Report.of(
        "Northwind Robotics",
        "funding",
        week,
        "Northwind Robotics gets a $5M state grant for its training centre",
        "The Massachusetts grant pays for apprenticeships.",
    )
    other_client = Report.of(
        "Quarry Analytics",
        "funding",
        week,
        "Quarry Analytics raises $120M Series C",
        "The round was led by Granite Ventures.",
    )
    assert not round_c.same_event(months_later)
    assert not round_c.same_event(other_round)
    assert not round_c.same_event(other_client)
