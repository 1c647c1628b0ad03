"""Ranked full-text search over grants and client news with the local scorer's BM25 index:
the engine of `pipeline search`."""

from __future__ import annotations

import difflib
from collections import Counter, defaultdict
from dataclasses import dataclass

import duckdb

from pipeline.lib.scoring.bm25 import BM25Index
from pipeline.lib.scoring.related import related_phrases_of
from pipeline.lib.scoring.text import surface_words, tokens
from pipeline.lib.warehouse import table_exists


@dataclass(frozen=True)
class SearchDocument:
    kind: str  # grant | news
    id: str
    title: str
    text: str
    url: str
    detail: str  # agency and deadline, or client and date
    is_sample: bool = False  # from the bundled samples: labelled wherever a person reads it


@dataclass(frozen=True)
class SearchHit:
    document: SearchDocument
    score: float


def load_documents(
    conn: duckdb.DuckDBPyConnection, kinds: tuple[str, ...], tenant_id: str | None = None
) -> list[SearchDocument]:
    """Grants are global; news is filtered to `tenant_id` when one is given. Near-duplicate
    articles are left out (their group's original is indexed)."""
    documents: list[SearchDocument] = []
    if "grant" in kinds and table_exists(conn, "core.grants"):
        for (
            grant_id, title, agency, description, eligibility, close_date, url, is_sample
        ) in conn.execute(
            "SELECT grant_id, title, agency, description, eligibility, close_date, url, is_sample"
            " FROM core.grants ORDER BY grant_id"
        ).fetchall():  # fmt: skip
            documents.append(
                SearchDocument(
                    "grant",
                    str(grant_id),
                    title or "",
                    # The title counts twice: a word in the title says more than one in the text.
                    " ".join(filter(None, [title, title, agency, description, eligibility])),
                    url or "",
                    f"{agency or 'unknown agency'}, closes {close_date or 'n/a'}",
                    bool(is_sample),
                )
            )
    if "news" in kinds and table_exists(conn, "core.client_news"):
        tenant_filter = " AND tenant_id = ?" if tenant_id else ""
        for client_id, article_id, title, description, url, published_at, is_sample in conn.execute(
            # The canonical URL drops tracking parameters (utm_*) the provider's URL carries.
            "SELECT client_id, article_id, title, description, coalesce(canonical_url, url),"
            " published_at, is_sample"
            f" FROM core.client_news WHERE near_duplicate_of IS NULL{tenant_filter}"
            " ORDER BY client_id, article_id",
            [tenant_id] if tenant_id else [],
        ).fetchall():
            documents.append(
                SearchDocument(
                    "news",
                    f"{client_id}/{article_id}",
                    title or "",
                    " ".join(filter(None, [title, title, description])),
                    url or "",
                    f"client {client_id}, {str(published_at)[:10] if published_at else 'undated'}",
                    bool(is_sample),
                )
            )
    return documents


# What a related word ("resilience" for "climate") counts against the query's own words.
RELATED_WEIGHT = 0.5


@dataclass(frozen=True)
class SearchOutcome:
    hits: list[SearchHit]
    missing: tuple[str, ...]  # query words no document contains
    related: tuple[str, ...]  # words of the related phrases documents contain (weighed half)
    nearest: tuple[str, ...]  # when nothing matched: indexed words spelled most like the query's


def search_documents(documents: list[SearchDocument], query: str, limit: int = 10) -> SearchOutcome:
    """BM25 over the documents' stemmed words. The query is stemmed the same way and widened
    with the words its broad topics are usually written in ("climate" also finds "coastal
    resilience"); with no match at all, the indexed words nearest to the query's are named."""
    index = BM25Index.from_texts([d.text for d in documents])
    vocabulary = index.vocabulary()
    asked = tokens(query)
    phrases = [p for p in related_phrases_of(asked) if all(w in vocabulary for w in p)]
    own_scores = index.scores(asked)
    # A related phrase counts where all of its words are ("sea level rise", not any "level").
    related_scores = [
        sum(index.score(p, i) for p in phrases if index.contains_all(i, p))
        for i in range(len(documents))
    ]
    related = list(dict.fromkeys(w for p in phrases for w in p))
    # A document with the query's own words ranks above one with only related words.
    ranked = sorted(
        (
            (own > 0, own + RELATED_WEIGHT * other, i)
            for i, (own, other) in enumerate(zip(own_scores, related_scores, strict=True))
            if own > 0 or other > 0
        ),
        key=lambda entry: (not entry[0], -entry[1], entry[2]),
    )
    hits = [SearchHit(documents[i], score) for _, score, i in ranked[:limit]]
    missing = tuple(w for w in asked if w not in vocabulary)
    shown = _shown_forms(documents)
    nearest: tuple[str, ...] = ()
    if not hits:
        close = [
            term
            for word in missing
            for term in difflib.get_close_matches(word, list(vocabulary), n=5, cutoff=0.7)
        ]
        nearest = tuple(dict.fromkeys(shown.get(t, t) for t in close))
    return SearchOutcome(
        hits,
        tuple(shown.get(w, w) for w in missing),
        tuple(shown.get(w, w) for w in related),
        nearest,
    )


def search(documents: list[SearchDocument], query: str, limit: int = 10) -> list[SearchHit]:
    return search_documents(documents, query, limit).hits


def _shown_forms(documents: list[SearchDocument]) -> dict[str, str]:
    """Stemmed token -> the commonest way the documents write it ('restorate' -> 'restoration')."""
    forms: dict[str, Counter] = defaultdict(Counter)
    for document in documents:
        for token, word in surface_words(document.text):
            forms[token][word] += 1
    return {token: counts.most_common(1)[0][0] for token, counts in forms.items()}
