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


# Seeds of the 64-bit hashes the dedup works on (fixed, so a run is reproducible).
_TENANT_SEED, _CLIENT_SEED, _URL_SEED, _CONTENT_SEED = 7, 11, 13, 17
# Stored rows sort before every incoming row (in the order they were read), whatever their
# dates; rows without a date sort last.
_STORED_RANK = -(1 << 62)
_NO_DATE = (1 << 62) - 1


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

    The work happens on a narrow frame of 64-bit hashes (tenant+client, URL, content) with
    one numeric sort instead of sorting and comparing strings (see bench_news_dedup.py);
    equal hashes of different strings are possible in principle (about 3e-8 at a million
    rows).
    """
    columns = list(incoming.columns)
    frames = [incoming]
    if existing is not None and existing.height:
        keep = [c for c in [*columns, "near_duplicate_of"] if c in existing.columns]
        frames.insert(0, existing.select(keep))
    stored = frames[0].height if len(frames) == 2 else 0
    combined = pl.concat(frames, how="diagonal_relaxed")
    if "near_duplicate_of" not in combined.columns:
        combined = combined.with_columns(near_duplicate_of=pl.lit(None, dtype=pl.String))
    published = pl.col("published_at").dt.epoch("us").fill_null(_NO_DATE)
    narrow = combined.select(
        _row=pl.int_range(pl.len(), dtype=pl.UInt32),
        _group=pl.col("tenant_id").hash(_TENANT_SEED) ^ pl.col("client_id").hash(_CLIENT_SEED),
        _url=pl.col("canonical_url").hash(_URL_SEED),
        _content=pl.col("content_hash").hash(_CONTENT_SEED),
        simhash=pl.col("simhash"),
        _rank=pl.when(pl.int_range(pl.len()) < stored)
        .then(pl.lit(_STORED_RANK, dtype=pl.Int64))
        .otherwise(published),
    )
    # Stored rows first, then earliest published: the first row of a group is its original.
    ordered = narrow.sort("_rank", maintain_order=True)
    kept = ordered.filter(
        (pl.col("_url") ^ pl.col("_group")).is_first_distinct()
        & (pl.col("_content") ^ pl.col("_group")).is_first_distinct()
    ).with_row_index("_order")
    leaders = _near_duplicate_leaders(kept, max_distance)
    # Back to whole rows: a leader's group id is its own near_duplicate_of, else its article_id.
    rows = kept["_row"]
    group_ids = combined.select(
        pl.coalesce("near_duplicate_of", "article_id").alias("group_id")
    ).to_series()
    near_of = pl.select(
        pl.when(leaders.is_not_null())
        .then(group_ids.gather(rows.gather(leaders.fill_null(0))))
        .otherwise(combined["near_duplicate_of"].gather(rows))
    ).to_series()
    result = combined[rows].with_columns(near_duplicate_of=near_of)
    return result.filter(rows >= stored).select(
        columns + (["near_duplicate_of"] if "near_duplicate_of" not in columns else [])
    )


def _near_duplicate_leaders(kept: pl.DataFrame, max_distance: int) -> pl.Series:
    """For each row of `kept` (by `_order`), the `_order` of the earliest article of its
    near-duplicate group, or null when it leads its own group."""
    n = kept.height
    leader = pl.Series("leader", [None] * n, dtype=pl.UInt32)
    if n == 0:
        return leader
    for block in range(SIMHASH_BLOCKS):
        block_value = (pl.col("simhash") // (1 << (_BLOCK_BITS * block))) % (1 << _BLOCK_BITS)
        bucket = kept.select(
            "_order",
            "simhash",
            "_group",
            key=(pl.col("_group") // (1 << _BLOCK_BITS)) * (1 << _BLOCK_BITS) + block_value,
        ).sort("key", maintain_order=True)
        starts = (pl.col("key") != pl.col("key").shift(1)).fill_null(True)
        candidates = bucket.with_columns(
            first_order=pl.when(starts).then(pl.col("_order")).forward_fill(),
            first_hash=pl.when(starts).then(pl.col("simhash")).forward_fill(),
            first_group=pl.when(starts).then(pl.col("_group")).forward_fill(),
        ).filter(
            (pl.col("first_order") != pl.col("_order"))
            & (pl.col("first_group") == pl.col("_group"))
            & ((pl.col("simhash") ^ pl.col("first_hash")).bitwise_count_ones() <= max_distance)
        )
        if candidates.is_empty():
            continue
        # Keep the earliest leader any block found.
        current = leader.gather(candidates["_order"])
        best = pl.select(
            pl.min_horizontal(current, candidates["first_order"].cast(pl.UInt32))
        ).to_series()
        leader = leader.scatter(candidates["_order"], best)
    # A leader that is itself a copy hands over its own leader: chains collapse to one root.
    for _ in range(32):
        parent = pl.select(
            pl.when(leader.is_not_null()).then(leader.gather(leader.fill_null(0)))
        ).to_series()
        root = pl.select(pl.coalesce(parent, leader)).to_series()
        if root.equals(leader, null_equal=True):
            break
        leader = root
    return leader
