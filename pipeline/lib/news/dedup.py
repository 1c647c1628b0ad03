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
# Near duplicates share at least one of these bands of their SimHash (at most 3 bits apart is
# certain to; the distance is checked in full after the band join).
SIMHASH_BANDS = 4
SIMHASH_BAND_BITS = SIMHASH_BITS // SIMHASH_BANDS
# Sort key of stored rows: before every publication time.
STORED_FIRST = -(2**63)


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


def deduplicate(
    incoming: pl.DataFrame,
    existing: pl.DataFrame | None = None,
    *,
    max_distance: int = NEAR_DUPLICATE_MAX_DISTANCE,
) -> pl.DataFrame:
    """Rows of `incoming` that are new articles (in input order), with `near_duplicate_of`
    set for syndicated copies. Rows are taken in rank order: rows stored by earlier partitions
    (`existing`) first, then incoming rows by publication time (undated last), ties in input
    order; rows are compared within one (tenant, client) only.

    - Exact duplicates: a row whose canonical URL or content hash an earlier row has is
      dropped, so the earliest published copy stays and a stored one always wins.
    - Near duplicates: the SimHash is cut into 4 bands of 16 bits. A row sharing a band value
      with the earliest row that has it, and whose SimHash is at most `max_distance` bits from
      that row's, is a copy of it (of the earliest such row over the bands).
      `near_duplicate_of` is the group's id: the article_id of the first row of the chain of
      copies (or that row's own near_duplicate_of, for a stored copy). The row stays, so the
      group is visible, and counting rows where near_duplicate_of is null counts each story
      once.
    """
    columns = list(incoming.columns)
    out_columns = [*columns, *(["near_duplicate_of"] if "near_duplicate_of" not in columns else [])]
    frames = [incoming.with_columns(_stored=pl.lit(False))]
    if existing is not None and existing.height:
        keep = [c for c in [*columns, "near_duplicate_of"] if c in existing.columns]
        frames.insert(0, existing.select(keep).with_columns(_stored=pl.lit(True)))
    combined = pl.concat(frames, how="diagonal_relaxed").with_row_index("_input")
    if "near_duplicate_of" not in combined.columns:
        combined = combined.with_columns(near_duplicate_of=pl.lit(None, dtype=pl.String))

    # Rank order: stored rows first, then by publication time, undated last; the stable sort
    # keeps input order among ties.
    rank_order = combined.select(
        pl.arg_sort_by(
            pl.when(pl.col("_stored"))
            .then(pl.lit(STORED_FIRST, dtype=pl.Int64))
            .otherwise(pl.col("published_at").dt.epoch("us")),
            nulls_last=True,
            maintain_order=True,
        )
    ).to_series()
    ranked = (
        combined.select(
            "_input",
            "_stored",
            "canonical_url",
            "content_hash",
            "simhash",
            # A number per (tenant, client): the position of its first row.
            _client=pl.col("_input").first().over("tenant_id", "client_id").cast(pl.UInt64),
        )
        .gather(rank_order)
        .with_columns(
            _rank=pl.int_range(pl.len(), dtype=pl.UInt32),
            # Per client: small hash sets, a third less work than (client, key) structs.
            _kept=pl.col("canonical_url").is_first_distinct().over("_client")
            & pl.col("content_hash").is_first_distinct().over("_client"),
        )
    )
    roots = _near_duplicate_roots(
        ranked.filter(pl.col("_kept") & pl.col("simhash").is_not_null()), max_distance
    )
    # Results go back to input order: each ranked row to its input position.
    input_position = ranked["_input"]
    is_new = pl.repeat(False, ranked.height, eager=True).scatter(
        input_position, ranked["_kept"] & ~ranked["_stored"]
    )
    # A copy takes the group id of its chain's first row.
    group_id = combined.select(pl.coalesce("near_duplicate_of", "article_id")).to_series()
    copy_of = pl.repeat(None, ranked.height, dtype=pl.String, eager=True).scatter(
        input_position.gather(roots["_rank"]),
        group_id.gather(input_position.gather(roots["_root"])),
    )
    return (
        combined.with_columns(near_duplicate_of=pl.coalesce(copy_of, pl.col("near_duplicate_of")))
        .filter(is_new)
        .select(out_columns)
    )


def _bucket(band: int) -> pl.Expr:
    """One integer per (client, band, band value): the bucket a row shares with its copies."""
    return (pl.col("_client") * SIMHASH_BANDS + band) * (1 << SIMHASH_BAND_BITS) + (
        pl.col("simhash") // (1 << (SIMHASH_BAND_BITS * band))
    ) % (1 << SIMHASH_BAND_BITS)


def _near_duplicate_roots(candidates: pl.DataFrame, max_distance: int) -> pl.DataFrame:
    """(_rank, _root) for every near copy among `candidates` (rows in rank order with
    `_client`, `_rank`, `simhash`): the rank of the first row of its chain of copies."""
    copies = (
        pl.concat([_band_pairs(candidates.lazy(), band) for band in range(SIMHASH_BANDS)])
        .filter(
            (pl.col("simhash") ^ pl.col("_leader_simhash")).bitwise_count_ones() <= max_distance
        )
        .group_by("_rank")
        .agg(pl.col("_leader").min())
        .sort("_rank")
        .collect()
    )
    # A leader always ranks before its copy, so in rank order a leader's root is known first.
    root: dict[int, int] = {}
    for copy, leader in copies.iter_rows():
        root[copy] = root.get(leader, leader)
    return pl.DataFrame(
        {"_rank": list(root), "_root": list(root.values())},
        schema={"_rank": pl.UInt32, "_root": pl.UInt32},
    )


def _band_pairs(candidates: pl.LazyFrame, band: int) -> pl.LazyFrame:
    """Every row that shares its bucket in `band` with an earlier row, beside that bucket's
    first row (its leader): `_rank`, `simhash`, `_leader`, `_leader_simhash`."""
    # Rows are in rank order, so a bucket's first row is its earliest.
    keyed = candidates.select("_rank", "simhash", _bucket=_bucket(band)).with_columns(
        _leads=pl.col("_bucket").is_first_distinct()
    )
    leaders = keyed.filter("_leads").select("_bucket", _leader="_rank", _leader_simhash="simhash")
    return keyed.filter(~pl.col("_leads")).join(leaders, on="_bucket").drop("_bucket", "_leads")
