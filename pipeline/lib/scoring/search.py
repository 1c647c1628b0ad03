"""Ranked full-text search over grants and client news with the local scorer's BM25 index:
the engine of `pipeline search`."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipeline.lib.scoring.bm25 import BM25Index
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


def search(documents: list[SearchDocument], query: str, limit: int = 10) -> list[SearchHit]:
    index = BM25Index.from_texts([d.text for d in documents])
    return [SearchHit(documents[i], score) for i, score in index.search(query, limit)]
