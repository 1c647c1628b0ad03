"""Digests tell one story once, and their news summaries add to the headline."""

import datetime as dt

import polars as pl

from pipeline.lib.notify.digest_emails import DEFAULT_CAP
from pipeline.lib.notify.digest_items import news_item
from pipeline.lib.notify.digest_sections import items_per_user
from pipeline.lib.notify.routing import Routed

TODAY = dt.date(2026, 3, 2)
WHEN = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
STORY = (
    "Apple plots expansion into AI robots and home security",
    "The company is planning a tabletop robot for 2027 and a smart display next year, people"
    " familiar with the plans said.",
)


def news_row(user, client, article, title, summary, url, relevance=0.7, published=WHEN):
    return {
        "user_id": user,
        "item_key": f"news:{client}:{article}",
        "client_id": client,
        "client_name": client.title(),
        "article_id": article,
        "tenant_id": "t",
        "title": title,
        "url": url,
        "published_at": published,
        "relevance": relevance,
        "category": "product",
        "summary": summary,
        "is_sample": False,
    }


def routed(rows: list[dict]) -> Routed:
    no_grants = pl.DataFrame(schema={"score": pl.Float64})
    return Routed(grants=no_grants, updates=pl.DataFrame(), news=pl.DataFrame(rows))


def test_copies_of_a_story_across_sources_and_clients_appear_once():
    rows = [
        news_row("ann", "apple", "a1", STORY[0], STORY[1], "https://bloomberg.example/1", 0.8),
        # The same story from another outlet: the title carries the outlet, the text is a copy.
        news_row(
            "ann", "apple", "a2", STORY[0] + " - Yahoo", STORY[1], "https://yahoo.example/2", 0.7
        ),
        # The same article matched for a second client of the same user.
        news_row("ann", "google", "g1", STORY[0], STORY[1], "https://bloomberg.example/1", 0.6),
        news_row(
            "ann",
            "apple",
            "a3",
            "Apple shares fall after quarterly results",
            "Revenue grew 2% while margins narrowed in the June quarter.",
            "https://news.example/3",
        ),
        # Another user sees only one copy: it stays, for them.
        news_row("bob", "google", "g1", STORY[0], STORY[1], "https://bloomberg.example/1", 0.6),
    ]
    users = items_per_user(routed(rows), DEFAULT_CAP)
    ann = users["ann"].render(TODAY)[0]
    assert [item.title for item in ann.items] == [
        STORY[0],
        "Apple shares fall after quarterly results",
    ]
    assert ann.items[0].score == 0.8 and ann.items[0].details[0].startswith("Apple, Google")
    # Every copy counts as delivered with the story, so none comes back in the next digest.
    assert set(users["ann"].keys) == {r["item_key"] for r in rows if r["user_id"] == "ann"}
    assert users["ann"].count("news") == 2
    assert [item.title for item in users["bob"].render(TODAY)[0].items] == [STORY[0]]


def test_news_summary_never_repeats_the_headline():
    repeated = news_row(
        "ann",
        "apple",
        "a1",
        "Apple opens a new campus in Austin",
        "Apple opens a new campus in Austin. It will employ 5,000 people by 2030.",
        "https://x.example/1",
    )
    details = news_item(repeated, TODAY).details
    assert details[-1] == "It will employ 5,000 people by 2030."
    only_headline = {**repeated, "summary": "Apple opens a new campus in Austin."}
    assert len(news_item(only_headline, TODAY).details) == 1  # just the client and date
