"""Exact and near-duplicate handling, and that it never crosses tenants or clients."""

import datetime as dt
import json
import random

import polars as pl

from pipeline.lib.news.dedup import ARTICLE_SCHEMA, article_id, articles_from_events, deduplicate
from pipeline.lib.news.text import hamming, simhash, syndication_text, text_hash
from pipeline.lib.news.urls import canonical_url

T0 = dt.datetime(2026, 11, 19, 12, tzinfo=dt.UTC)

ORIGINAL = (
    "Warehouse robot maker Northwind Robotics valued at $1.1 billion after new funding",
    "Northwind Robotics said on Wednesday it had raised $120 million from investors led by "
    "Granite Ventures and would use the money to expand into Europe and hire 200 engineers.",
)


def row(url, title, description, *, client="acme-northwind", tenant="acme", minutes=0, source=""):
    canonical = canonical_url(url)
    return {
        "client_id": client,
        "tenant_id": tenant,
        "article_id": article_id(canonical),
        "url": url,
        "canonical_url": canonical,
        "title": title,
        "description": description,
        "source_name": source,
        "provider": "newsapi",
        "published_at": T0 + dt.timedelta(minutes=minutes),
        "content_hash": text_hash(title, description),
        "simhash": simhash(syndication_text(title, description, source)),
        "is_sample": True,
        "partition_date": T0.date(),
        "raw_event_id": "e",
        "fetched_at": T0,
    }


def frame(*rows):
    return pl.DataFrame(list(rows), schema=ARTICLE_SCHEMA)


def test_syndicated_copies_are_near_duplicates():
    title, text = ORIGINAL
    copies = [
        (f"{title} - Yahoo Finance", f"(Reuters) - {text}", "Yahoo Finance"),
        (title, text.replace(" and hire 200 engineers", ""), "MarketScreener"),
        (f"{title} | Investing.com", f"(Reuters) -- {text}", "Investing.com"),
    ]
    for copy_title, copy_text, source in copies:
        distance = hamming(
            simhash(syndication_text(title, text)),
            simhash(syndication_text(copy_title, copy_text, source)),
        )
        assert distance <= 8, (copy_title, distance)
    unrelated = simhash(
        syndication_text(
            "Northwind Robotics sued by former supplier over unpaid invoices",
            "A former supplier filed suit against Northwind Robotics in Delaware, claiming "
            "$4 million in unpaid invoices for robot arms.",
        )
    )
    assert hamming(simhash(syndication_text(title, text)), unrelated) > 12


def test_exact_and_near_duplicates():
    title, text = ORIGINAL
    original = row("https://www.reuters.com/tech/northwind-valued/", title, text, source="Reuters")
    same_url = row(
        "http://reuters.com/tech/northwind-valued?utm_source=x#top", title, text, minutes=5
    )
    same_content = row("https://amp.reuters.com/tech/northwind-valued", title, text, minutes=7)
    syndicated = row(
        "https://finance.yahoo.com/news/northwind-1.html",
        f"{title} - Yahoo Finance",
        f"(Reuters) - {text}",
        minutes=30,
        source="Yahoo Finance",
    )
    other = row(
        "https://example.com/northwind-lawsuit",
        "Northwind Robotics sued by former supplier over unpaid invoices",
        "A former supplier filed suit against Northwind Robotics in Delaware.",
        minutes=60,
    )
    # Input order must not matter: the earliest published copy is the original.
    result = deduplicate(frame(syndicated, other, same_content, same_url, original))
    by_url = dict(zip(result["canonical_url"], result["near_duplicate_of"], strict=True))
    assert set(by_url) == {
        original["canonical_url"],
        syndicated["canonical_url"],
        other["canonical_url"],
    }
    assert by_url[original["canonical_url"]] is None
    assert by_url[syndicated["canonical_url"]] == original["article_id"]
    assert by_url[other["canonical_url"]] is None
    # Counting stories: the group counts once.
    assert result.filter(pl.col("near_duplicate_of").is_null()).height == 2


def test_stored_articles_win_and_lead_groups():
    title, text = ORIGINAL
    stored = frame(row("https://reuters.com/a", title, text)).with_columns(
        near_duplicate_of=pl.lit(None, dtype=pl.String)
    )
    again = row("https://reuters.com/a?utm_medium=email", title, text, minutes=600)
    copy = row(
        "https://finance.yahoo.com/b",
        f"{title} - Yahoo Finance",
        f"(Reuters) - {text}",
        minutes=700,
        source="Yahoo Finance",
    )
    result = deduplicate(frame(again, copy), stored)
    assert result["canonical_url"].to_list() == ["https://finance.yahoo.com/b"]
    assert result["near_duplicate_of"].to_list() == [stored["article_id"][0]]


def test_chains_collapse_to_the_group_original():
    title, text = ORIGINAL
    a = row("https://a.example/1", title, text)
    b = row("https://b.example/1", title, text.replace(" and hire 200 engineers", ""), minutes=1)
    c = row(
        "https://c.example/1",
        title,
        text.replace(" and hire 200 engineers", "").replace("on Wednesday ", ""),
        minutes=2,
    )
    result = deduplicate(frame(a, b, c))
    leaders = set(result["near_duplicate_of"].drop_nulls().to_list())
    assert leaders <= {a["article_id"]}


def test_tenants_and_clients_never_mix():
    title, text = ORIGINAL
    acme = row("https://reuters.com/helix", title, text, client="acme-helix", tenant="acme")
    globex = row(
        "https://reuters.com/helix", title, text, client="globex-helix", tenant="globex", minutes=1
    )
    globex_copy = row(
        "https://finance.yahoo.com/helix",
        f"{title} - Yahoo Finance",
        f"(Reuters) - {text}",
        client="globex-helix",
        tenant="globex",
        minutes=2,
        source="Yahoo Finance",
    )
    # Same client id under another tenant (a misconfigured CRM) stays apart too.
    mislabelled = row(
        "https://reuters.com/helix", title, text, client="acme-helix", tenant="globex", minutes=3
    )
    result = deduplicate(frame(acme, globex, globex_copy, mislabelled))
    assert result.height == 4
    ids = {
        (r["tenant_id"], r["client_id"], r["canonical_url"]): r
        for r in result.iter_rows(named=True)
    }
    copy = ids[("globex", "globex-helix", "https://finance.yahoo.com/helix")]
    assert copy["near_duplicate_of"] == globex["article_id"]
    # The globex copy points at globex's own row, which has the same article_id as acme's:
    # the pair (client_id, article_id) is what identifies a row, never article_id alone.
    leaders = result.filter(pl.col("near_duplicate_of").is_not_null())
    assert leaders["tenant_id"].to_list() == ["globex"]


def test_articles_from_events_parses_every_provider():
    fetched = T0
    events = pl.DataFrame(
        [
            {
                "event_id": "1",
                "provider": "serper",
                "scope": "acme-northwind",
                "tenant_id": "acme",
                "is_sample": False,
                "payload": json.dumps(
                    {
                        "title": "Northwind news",
                        "link": "https://x.example/a?fbclid=1",
                        "date": "15 hours ago",
                    }
                ),
                "partition_date": T0.date(),
                "fetched_at": fetched,
            },
            {
                "event_id": "2",
                "provider": "rss",
                "scope": "acme-northwind",
                "tenant_id": "acme",
                "is_sample": False,
                "payload": json.dumps({"title": "", "link": ""}),
                "partition_date": T0.date(),
                "fetched_at": fetched,
            },
        ]
    )
    articles, unparsed = articles_from_events(events)
    assert unparsed == 1
    assert articles["canonical_url"].to_list() == ["https://x.example/a"]
    assert articles["published_at"].to_list() == [T0 - dt.timedelta(hours=15)]


def test_copy_of_a_stored_copy_joins_the_stored_group():
    title, text = ORIGINAL
    stored = frame(
        row("https://reuters.com/a", title, text),
        row(
            "https://finance.yahoo.com/b",
            f"{title} - Yahoo Finance",
            f"(Reuters) - {text}",
            minutes=5,
            source="Yahoo Finance",
        ),
    )
    stored = stored.with_columns(
        near_duplicate_of=pl.Series([None, stored["article_id"][0]], dtype=pl.String)
    )
    later = row(
        "https://investing.com/c",
        f"{title} | Investing.com",
        f"(Reuters) -- {text}",
        minutes=900,
        source="Investing.com",
    )
    result = deduplicate(frame(later), stored)
    assert result["near_duplicate_of"].to_list() == [stored["article_id"][0]]


def reference_dedup(incoming, existing, max_distance=8):
    """The documented rules, row by row in plain Python: what `deduplicate` must return."""
    rows = [*existing.iter_rows(named=True), *incoming.iter_rows(named=True)]
    stored = existing.height

    def rank(i):
        if i < stored:
            return (0, 0, i)
        published = rows[i]["published_at"]
        return (1, published, i) if published else (2, 0, i)

    seen_urls, seen_contents, kept = set(), set(), []
    for i in sorted(range(len(rows)), key=rank):
        group = (rows[i]["tenant_id"], rows[i]["client_id"])
        url, content = (group, rows[i]["canonical_url"]), (group, rows[i]["content_hash"])
        if url not in seen_urls and content not in seen_contents:
            kept.append(i)
        seen_urls.add(url)
        seen_contents.add(content)
    first_in_bucket, leader = {}, {}
    for i in kept:  # in rank order
        value = rows[i]["simhash"]
        if value is None:
            continue
        group = (rows[i]["tenant_id"], rows[i]["client_id"])
        for block in range(4):
            bucket = (group, block, value >> (16 * block) & 0xFFFF)
            first = first_in_bucket.setdefault(bucket, i)
            if first != i and hamming(value, rows[first]["simhash"]) <= max_distance:
                earliest = leader.get(i)
                leader[i] = first if earliest is None or rank(first) < rank(earliest) else earliest
    result = {}
    for i in kept:
        if i < stored:
            continue
        root = i
        while root in leader:
            root = leader[root]
        near = rows[i].get("near_duplicate_of")
        if root != i:
            near = rows[root].get("near_duplicate_of") or rows[root]["article_id"]
        result[rows[i]["raw_event_id"]] = near
    return result


def random_articles(rng, n, prefix, *, far_apart=False):
    bases = [rng.getrandbits(64) for _ in range(max(1, n // 4))]
    rows = []
    for i in range(n):
        value = rng.choice(bases)
        for bit in rng.sample(range(64), rng.choice([0, 1, 4, 7, 10, 20])):
            value ^= 1 << bit
        if far_apart:  # too wide a span to pack next to a row number: dense ranks
            published = dt.datetime(1000 + 900 * rng.randrange(3), 1, 1, tzinfo=dt.UTC)
        else:
            published = T0
        published += dt.timedelta(minutes=rng.randrange(20))  # plenty of ties
        url = f"https://n{rng.randrange(n // 2 + 1)}.example/a"
        rows.append(
            {
                "client_id": rng.choice(["c1", "c2", None]),
                "tenant_id": rng.choice(["acme", "globex"]),
                "article_id": article_id(url),
                "url": url,
                "canonical_url": url,
                "title": "t",
                "description": "d",
                "source_name": "s",
                "provider": "newsapi",
                "published_at": None if rng.random() < 0.1 else published,
                "content_hash": rng.choice([None, *[f"h{k}" for k in range(n // 2 + 1)]]),
                "simhash": None if rng.random() < 0.05 else value,
                "is_sample": False,
                "partition_date": T0.date(),
                "raw_event_id": f"{prefix}{i}",
                "fetched_at": T0,
            }
        )
    return pl.DataFrame(rows, schema=ARTICLE_SCHEMA)


def test_matches_the_rules_row_by_row():
    rng = random.Random(5)
    for trial in range(60):
        far_apart = trial % 3 == 0
        incoming = random_articles(rng, rng.choice([1, 10, 80, 300]), "in", far_apart=far_apart)
        existing = random_articles(rng, rng.choice([0, 5, 40]), "st", far_apart=far_apart)
        existing = existing.with_columns(
            near_duplicate_of=pl.when(pl.int_range(pl.len()) % 4 == 0).then(pl.lit("stored-group"))
        )
        max_distance = rng.choice([3, 8, 12])
        result = deduplicate(incoming, existing, max_distance=max_distance)
        assert result.columns == [*incoming.columns, "near_duplicate_of"]
        got = dict(zip(result["raw_event_id"], result["near_duplicate_of"], strict=True))
        assert got == reference_dedup(incoming, existing, max_distance), trial
        # Rows come back in input order.
        order = incoming["raw_event_id"].to_list()
        assert result["raw_event_id"].to_list() == [r for r in order if r in got]
