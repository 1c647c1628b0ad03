"""From raw news events to one row per article per client: canonical URLs, exact dedup by
canonical URL and content hash, and near-duplicate grouping with SimHash.

Everything is grouped by (tenant_id, client_id): an article about a client in one tenant is
never compared with, or folded into, an article of another tenant.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

from pipeline.lib.hashing import sha256_text
from pipeline.lib.news.parsers import parse_item
from pipeline.lib.news.text import (
    NEAR_DUPLICATE_MAX_DISTANCE,
    SIMHASH_BITS,
    simhash,
    syndication_text,
    text_hash,
)
from pipeline.lib.news.urls import canonical_url

ARTICLE_SCHEMA = {
    "client_id": pl.String,
    "tenant_id": pl.String,
    "article_id": pl.String,
    "url": pl.String,
    "canonical_url": pl.String,
    "title": pl.String,
    "description": pl.String,
    "source_name": pl.String,
    "provider": pl.String,
    "published_at": pl.Datetime("us", "UTC"),
    "content_hash": pl.String,
    "simhash": pl.UInt64,
    "is_sample": pl.Boolean,
    "partition_date": pl.Date,
    "raw_event_id": pl.String,
    "fetched_at": pl.Datetime("us", "UTC"),
}
SIMHASH_BLOCKS = 4
_BLOCK_BITS = SIMHASH_BITS // SIMHASH_BLOCKS


def article_id(canonical: str) -> str:
    return sha256_text(canonical)[:32]


def articles_from_events(events: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Parse raw.events rows (event_id, provider, scope, tenant_id, is_sample, payload,
    partition_date, fetched_at) into article rows. Returns the frame and how many events
    could not be parsed into an article (no URL or title)."""
    rows = []
    unparsed = 0
    for event in events.iter_rows(named=True):
        payload = event["payload"]
        item = json.loads(payload) if isinstance(payload, str) else payload
        fetched_at = event["fetched_at"]
        if fetched_at.tzinfo is None:
            fetched_at = fetched_at.replace(tzinfo=dt.UTC)
        article = parse_item(event["provider"], item, fetched_at=fetched_at)
        if article is None:
            unparsed += 1
            continue
        canonical = canonical_url(article.url)
        rows.append(
            {
                "client_id": event["scope"],
                "tenant_id": event["tenant_id"],
                "article_id": article_id(canonical),
                "url": article.url,
                "canonical_url": canonical,
                "title": article.title,
                "description": article.description,
                "source_name": article.source_name,
                "provider": event["provider"],
                "published_at": article.published_at,
                "content_hash": text_hash(article.title, article.description),
                "simhash": simhash(
                    syndication_text(article.title, article.description, article.source_name)
                ),
                "is_sample": event["is_sample"],
                "partition_date": event["partition_date"],
                "raw_event_id": event["event_id"],
                "fetched_at": fetched_at,
            }
        )
    return pl.DataFrame(rows, schema=ARTICLE_SCHEMA), unparsed


def _group_key() -> pl.Expr:
    # One 64-bit key per (tenant, client); equal keys are re-checked on the real columns.
    return pl.struct("tenant_id", "client_id").hash(7)


def deduplicate(
    incoming: pl.DataFrame,
    existing: pl.DataFrame | None = None,
    *,
    max_distance: int = NEAR_DUPLICATE_MAX_DISTANCE,
) -> pl.DataFrame:
    """Rows of `incoming` that are new articles, with `near_duplicate_of` set for syndicated
    copies.

    - Exact duplicates (same canonical URL, or same content hash, within a client) are
      dropped; the earliest published copy is kept, and anything already in `existing`
      (rows stored by earlier partitions) wins.
    - Near duplicates: SimHash split in 4 blocks of 16 bits. Within a (client, block value)
      bucket every article is compared with the bucket's earliest article; if their
      SimHashes are at most `max_distance` bits apart, the later one points at the earlier
      one's group (`near_duplicate_of` = that group's first article_id). The row stays, so
      the group is visible, and counting rows where near_duplicate_of is null counts each
      story once.
    """
    columns = list(incoming.columns)
    frames = [incoming.with_columns(_existing=pl.lit(False))]
    if existing is not None and existing.height:
        keep = [
            c
            for c in (
                "tenant_id",
                "client_id",
                "article_id",
                "canonical_url",
                "content_hash",
                "simhash",
                "published_at",
                "near_duplicate_of",
            )
            if c in existing.columns
        ]
        frames.insert(0, existing.select(keep).with_columns(_existing=pl.lit(True)))
    combined = pl.concat(frames, how="diagonal_relaxed")
    if "near_duplicate_of" not in combined.columns:
        combined = combined.with_columns(near_duplicate_of=pl.lit(None, dtype=pl.String))
    # Stored rows first, then earliest published: the first row of a group is its original.
    ordered = combined.sort(
        ["_existing", "published_at"],
        descending=[True, False],
        nulls_last=True,
        maintain_order=True,
    ).with_columns(_group=_group_key())
    exact_unique = (
        pl.struct("_group", "canonical_url").is_first_distinct()
        & pl.struct("_group", "content_hash").is_first_distinct()
    )
    kept = ordered.filter(exact_unique).with_row_index("_order")
    kept = kept.with_columns(near_duplicate_of=_near_duplicate_leaders(kept, max_distance))
    return kept.filter(~pl.col("_existing")).select(
        columns + (["near_duplicate_of"] if "near_duplicate_of" not in columns else [])
    )


def _near_duplicate_leaders(kept: pl.DataFrame, max_distance: int) -> pl.Series:
    """For each row (in `_order`), the article_id of the group it copies, or null."""
    n = kept.height
    leader_order = pl.Series("leader", [None] * n, dtype=pl.UInt32)
    if n == 0:
        return pl.Series("near_duplicate_of", [], dtype=pl.String)
    for block in range(SIMHASH_BLOCKS):
        block_value = (pl.col("simhash") // (1 << (_BLOCK_BITS * block))) % (1 << _BLOCK_BITS)
        bucket = kept.select(
            "_order",
            "simhash",
            "tenant_id",
            "client_id",
            key=(pl.col("_group") // (1 << _BLOCK_BITS)) * (1 << _BLOCK_BITS) + block_value,
        ).sort("key", maintain_order=True)
        starts = pl.col("key") != pl.col("key").shift(1)
        candidates = bucket.with_columns(
            first_order=pl.when(starts.fill_null(True)).then(pl.col("_order")).forward_fill(),
            first_hash=pl.when(starts.fill_null(True)).then(pl.col("simhash")).forward_fill(),
            first_tenant=pl.when(starts.fill_null(True)).then(pl.col("tenant_id")).forward_fill(),
            first_client=pl.when(starts.fill_null(True)).then(pl.col("client_id")).forward_fill(),
        ).filter(
            (pl.col("first_order") != pl.col("_order"))
            & (pl.col("first_tenant") == pl.col("tenant_id"))
            & (pl.col("first_client") == pl.col("client_id"))
            & ((pl.col("simhash") ^ pl.col("first_hash")).bitwise_count_ones() <= max_distance)
        )
        if candidates.is_empty():
            continue
        # Keep the earliest leader any block found.
        current = leader_order.gather(candidates["_order"])
        best = pl.select(
            pl.min_horizontal(current, candidates["first_order"].cast(pl.UInt32))
        ).to_series()
        leader_order = leader_order.scatter(candidates["_order"], best)
    # A leader that is itself a copy hands over its own root, so chains collapse to one group.
    root = leader_order
    for _ in range(32):
        parent = pl.select(
            pl.when(root.is_not_null()).then(leader_order.gather(root.fill_null(0)))
        ).to_series()
        next_root = pl.select(pl.coalesce(parent, root)).to_series()
        if next_root.equals(root, null_equal=True):
            break
        root = next_root
    group_of_row = pl.select(pl.coalesce(kept["near_duplicate_of"], kept["article_id"])).to_series()
    return (
        pl.select(
            pl.when(root.is_not_null())
            .then(group_of_row.gather(root.fill_null(0)))
            .otherwise(kept["near_duplicate_of"])
        )
        .to_series()
        .alias("near_duplicate_of")
    )
