"""Stories: which news items report one event. A digest shows each story once, naming the other
outlets that reported it ("also reported by Reuters").

Two items are one story when they are copies (the same URL, or SimHashes of their text within
the news dedup's distance and mostly the same headline words), or when they report the same
event in their own words: about the same client, of the same category, published within
EVENT_WINDOW of each other, sharing a specific detail (an amount such as "$120M" / "120
million", or a name other than the client's, such as the investor or the other party of a
lawsuit) and, of the shorter text's words, at least EVENT_WORD_SHARE."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlsplit

import polars as pl

from pipeline.lib.news.text import (
    NEAR_DUPLICATE_MAX_DISTANCE,
    SIMHASH_BITS,
    hamming,
    normalised_words,
    simhash,
    syndication_text,
)

# Reports of one event appear within days of each other; a company's next round is months away.
EVENT_WINDOW = dt.timedelta(days=4)
# Of the shorter report's content words, the share the other must have too. The Reuters and
# TechCrunch reports of one funding round share about 0.6, a lawsuit and the defendant's
# statement on it 0.6; two different stories about one client about 0.1.
EVENT_WORD_SHARE = 0.4
_COMMON_WORD_TEXT = """a an the and or of to in on for with by at from as is are was were be been has
    have had it its this that these those will would said says say after before over into about
    than company companies new their his her they we our us you your which who what when monday
    tuesday wednesday thursday friday saturday sunday today yesterday"""
_COMMON_WORDS = frozenset(_COMMON_WORD_TEXT.split())
_AMOUNT = re.compile(
    r"\$?\s?(\d+(?:[.,]\d+)?)\s?(million|billion|thousand|bn|mn|m|b|k)\b", re.IGNORECASE
)
_UNITS = {"million": "m", "mn": "m", "m": "m", "billion": "b", "bn": "b", "b": "b"}
_UNITS |= {"thousand": "k", "k": "k"}
_CAPITALISED = re.compile(r"\b[A-Z][\w'-]+")


@dataclass(frozen=True)
class Report:
    """What of an article tells which event it reports."""

    subject: str  # the client it is about, case-folded
    category: str | None
    published: dt.datetime | None
    words: frozenset[str]
    details: frozenset[str]  # amounts and names other than the client's

    @classmethod
    def of(cls, subject: str, category: str | None, published, title: str, summary: str) -> Report:
        text = f"{title}. {summary}"
        subject_words = set(normalised_words(subject))
        words = frozenset(
            w for w in normalised_words(text) if w not in _COMMON_WORDS and w not in subject_words
        )
        amounts = {
            f"{number.replace(',', '.')}{_UNITS[unit.lower()]}"
            for number, unit in _AMOUNT.findall(text)
        }
        lower_words = set(re.findall(r"\b[a-z][\w'-]+", text))
        names = {
            name.casefold()
            for name in _CAPITALISED.findall(text)
            if name.casefold() not in _COMMON_WORDS
            and name.casefold() not in subject_words
            and name.casefold() not in lower_words  # a sentence's first word, not a name
        }
        return cls(subject.casefold(), category, published, words, frozenset(amounts | names))

    def same_event(self, other: Report) -> bool:
        if self.subject != other.subject or self.category != other.category:
            return False
        if (
            self.published
            and other.published
            and abs(self.published - other.published) > EVENT_WINDOW
        ):
            return False
        if not self.details & other.details:
            return False
        shorter = min(len(self.words), len(other.words))
        return shorter > 0 and len(self.words & other.words) / shorter >= EVENT_WORD_SHARE


def outlet(source_name: str | None, url: str | None) -> str:
    """Who published an item: the provider's source name, else the link's host."""
    if source_name and source_name.strip():
        return source_name.strip()
    host = urlsplit(url or "").hostname or ""
    return host.removeprefix("www.")


def news_stories(news: pl.DataFrame) -> pl.DataFrame:
    """(client_id, article_id, story): articles that report one story share a story id. The
    news dedup groups copies per client; a digest also meets them across clients and sources,
    and meets other outlets' own reports of the same event."""
    columns = ["client_id", "article_id", "url", "title", "summary"]
    extra = [c for c in ("client_name", "category", "published_at") if c in news.columns]
    articles = news.select(*columns, *extra).unique(
        subset=["client_id", "article_id"], maintain_order=True
    )
    parent = list(range(articles.height))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(a: int, b: int) -> None:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    hashes, title_words = [], []
    by_url: dict[str, int] = {}
    buckets: dict[tuple[int, int], list[int]] = defaultdict(list)
    by_subject: dict[str, list[tuple[int, Report]]] = defaultdict(list)
    block_bits = SIMHASH_BITS // 4
    for i, row in enumerate(articles.iter_rows(named=True)):
        url, title, summary = row["url"], row["title"] or "", row["summary"] or ""
        if url:
            join(by_url.setdefault(url, i), i)
        value = simhash(syndication_text(title, summary))
        hashes.append(value)
        title_words.append(set(normalised_words(title)))
        # Within the distance, two hashes share at least one of four 16-bit blocks.
        for block in range(4):
            key = (block, value >> (block * block_bits) & ((1 << block_bits) - 1))
            for other in buckets[key]:
                if hamming(value, hashes[other]) <= NEAR_DUPLICATE_MAX_DISTANCE and _same_headline(
                    title_words[other], title_words[i]
                ):
                    join(other, i)
            buckets[key].append(i)
        subject = row.get("client_name") or row["client_id"]
        report = Report.of(subject, row.get("category"), row.get("published_at"), title, summary)
        # A digest holds few items per client: comparing each with its client's others is cheap.
        for other, earlier in by_subject[report.subject]:
            if report.same_event(earlier):
                join(other, i)
        by_subject[report.subject].append((i, report))
    return articles.select("client_id", "article_id").with_columns(
        story=pl.Series([root(i) for i in range(articles.height)], dtype=pl.UInt32)
    )


def _same_headline(a: set[str], b: set[str]) -> bool:
    """Most words shared: a copy may add its outlet's name, but 'story 1' is not 'story 11'
    even where two different stories carry the same stock summary."""
    return bool(a and b) and len(a & b) / len(a | b) >= 0.7
