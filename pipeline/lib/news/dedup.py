"""From raw news events to one row per article per client: canonical URLs, exact dedup by
canonical URL and content hash, and near-duplicate grouping with SimHash.

Everything is grouped by (tenant_id, client_id): an article about a client in one tenant is
never compared with, or folded into, an article of another tenant.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from concurrent.futures import ThreadPoolExecutor

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
# Ranks used when the published dates span too much to pack next to a row number: stored rows
# sort before every incoming row (in the order they were read), rows without a date last.
_STORED_RANK = -(1 << 62)
_NO_DATE = (1 << 62) - 1
_WORD = (1 << 64) - 1
_BLOCK_MASK = (1 << _BLOCK_BITS) - 1


def deduplicate(
    incoming: pl.DataFrame,
    existing: pl.DataFrame | None = None,
    *,
    max_distance: int = NEAR_DUPLICATE_MAX_DISTANCE,
) -> pl.DataFrame:
    """Rows of `incoming` that are new articles (in input order), with `near_duplicate_of`
    set for syndicated copies.

    - Exact duplicates (same canonical URL, or same content hash, within a client) are
      dropped; the earliest published copy is kept (on a tie the first in input order), and
      anything already in `existing` (rows stored by earlier partitions) wins.
    - Near duplicates: SimHash split in 4 blocks of 16 bits. Within a (client, block value)
      bucket every article is compared with the bucket's earliest article; if their
      SimHashes are at most `max_distance` bits apart, the later one points at the earlier
      one's group (`near_duplicate_of` = that group's first article_id). The row stays, so
      the group is visible, and counting rows where near_duplicate_of is null counts each
      story once.

    How (see bench_news_dedup.py): the strings are hashed once to 64-bit keys (tenant+client,
    URL, content), and a row's rank (stored first, then published, then input order) and its
    row number are packed into one u64, so "earliest" is the smallest integer. Each key (URL,
    content, each SimHash block within a client) costs one sort of a u64 holding the key's
    high bits and a row number; only rows next to an equal key, a few percent, are compared
    in full. Independent passes run on threads. Equal hashes of different strings are
    possible in principle (about 3e-8 at a million rows).
    """
    columns = list(incoming.columns)
    out_columns = columns + (["near_duplicate_of"] if "near_duplicate_of" not in columns else [])
    stored = 0
    combined = incoming
    if existing is not None and existing.height:
        keep = [c for c in [*columns, "near_duplicate_of"] if c in existing.columns]
        stored = existing.height
        combined = pl.concat([existing.select(keep), incoming], how="diagonal_relaxed")
    if "near_duplicate_of" not in combined.columns:
        combined = combined.with_columns(near_duplicate_of=pl.lit(None, dtype=pl.String))
    n = combined.height
    if n == stored:
        return combined.slice(stored).select(out_columns)
    narrow = _hashed(combined, stored)
    row_bits = _bits(n)
    copies = _in_parallel(
        lambda: _later_copies(narrow["_url"], narrow["_packed"], row_bits),
        lambda: _later_copies(narrow["_content"], narrow["_packed"], row_bits),
    )
    kept = pl.repeat(True, n, eager=True).scatter(pl.concat(copies), False)
    candidates = narrow.select("_group", "_packed", "simhash").filter(
        kept & narrow["simhash"].is_not_null()
    )
    leaders = _near_duplicate_leaders(candidates, max_distance)
    near_of = combined["near_duplicate_of"]
    if leaders.height:
        # Back to row numbers: a leader's group id is its own near_duplicate_of (a stored
        # copy), else its article_id.
        rows = leaders.select((pl.col("copy", "leader") & ((1 << row_bits) - 1)).cast(pl.UInt32))
        group_ids = pl.select(
            pl.coalesce(
                near_of.gather(rows["leader"]), combined["article_id"].gather(rows["leader"])
            )
        ).to_series()
        near_of = near_of.clone().scatter(rows["copy"], group_ids)
    return (
        combined.with_columns(near_duplicate_of=near_of)
        .slice(stored)
        .filter(kept.slice(stored))
        .select(out_columns)
    )


def _bits(count: int) -> int:
    """Bits that hold the numbers 0..count-1."""
    return max(1, (count - 1).bit_length())


def _in_parallel(*tasks):
    """Results of independent Polars passes, run on threads (Polars releases the GIL while
    it works; two single-threaded sorts on two threads take the time of one, which Polars'
    own pool does not manage for separate sorts)."""
    workers = min(len(tasks), pl.thread_pool_size())
    if workers < 2:
        return [task() for task in tasks]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [future.result() for future in [pool.submit(task) for task in tasks]]


def _hashed(combined: pl.DataFrame, stored: int) -> pl.DataFrame:
    """The narrow frame the dedup works on: `_group` (hash of tenant and client), `_url` and
    `_content` (their hashes mixed with the group's), `simhash`, and `_packed`: the row's
    rank in the high bits, its row number in the low bits."""
    n = combined.height
    row_bits = _bits(n)
    epoch = pl.col("published_at").dt.epoch("us")
    lo, hi = combined.slice(stored).select(epoch.min(), epoch.max().alias("hi")).row(0)
    lo, hi = (0, 0) if lo is None else (lo, hi)
    # Stored rows 0, dated rows 1.. (microseconds since the earliest), undated rows last. If
    # that does not fit next to a row number (dates over ~200 days apart at a million rows),
    # the ranks are numbered densely first.
    dense = _bits(hi - lo + 3) + row_bits > 64
    group = pl.col("tenant_id").hash(_TENANT_SEED) ^ pl.col("client_id").hash(_CLIENT_SEED)

    def part(offset: int, length: int) -> pl.DataFrame:
        row = pl.int_range(offset, offset + pl.len(), dtype=pl.UInt64)
        if dense:
            rank = pl.when(row < stored).then(_STORED_RANK).otherwise(epoch.fill_null(_NO_DATE))
        else:
            since = (epoch - (lo - 1)).fill_null(hi - lo + 2)
            rank = pl.when(row < stored).then(0).otherwise(since).cast(pl.UInt64)
            rank = rank * (1 << row_bits) + row
        return combined.slice(offset, length).select(
            _group=group,
            _url=pl.col("canonical_url").hash(_URL_SEED) ^ group,
            _content=pl.col("content_hash").hash(_CONTENT_SEED) ^ group,
            simhash=pl.col("simhash"),
            _packed=rank,
        )

    # Hashing the strings is the biggest single cost: split the rows over the threads.
    parts = pl.thread_pool_size()
    bounds = [n * i // parts for i in range(parts + 1)]
    narrow = pl.concat(
        _in_parallel(*((lambda a=a, b=b: part(a, b - a)) for a, b in itertools.pairwise(bounds))),
        rechunk=False,
    )
    if dense:
        packed = pl.col("_packed").rank("dense").cast(pl.UInt64) * (1 << row_bits)
        narrow = narrow.with_columns(_packed=packed + pl.int_range(pl.len(), dtype=pl.UInt64))
    return narrow


def _neighbours(packed: pl.Series, low: int) -> pl.DataFrame:
    """Sorts `packed` (key in the high bits, row number in the `low` bits) and keeps the
    entries whose key equals the previous or the next one's: `key` and `row`."""
    s = pl.col("s")
    same = ((s ^ s.shift(1)) <= low).fill_null(False)
    return (
        pl.select(s=packed.sort(multithreaded=False))
        .filter(same | same.shift(-1, fill_value=False))
        .select(key=s // (low + 1), row=(s & low).cast(pl.UInt32))
    )


def _later_copies(key: pl.Series, packed: pl.Series, row_bits: int) -> pl.Series:
    """Row numbers of the rows that share `key` with an earlier row (lower `packed`)."""
    low = (1 << row_bits) - 1
    # Equal keys are neighbours once (key's high bits | row number) is sorted; among those
    # few rows the whole key decides, and the earliest row of each key is the original.
    rows = _neighbours((key & (_WORD ^ low)) | (packed & low), low)["row"]
    return (
        pl.DataFrame({"key": key.gather(rows), "packed": packed.gather(rows)})
        .sort("key", "packed")
        .filter(pl.col("key") == pl.col("key").shift(1))
        .select((pl.col("packed") & low).cast(pl.UInt32))
        .to_series()
    )


def _block_pairs(
    candidates: pl.DataFrame, block: int, max_distance: int, *, exact_groups: bool
) -> pl.DataFrame:
    """(copy, leader) `_packed` pairs of one SimHash block: every row is compared with the
    earliest row (lowest `_packed`) of its (group, block value) bucket.

    The sort key holds the high bits of `_group`, the block value and the row's position.
    With `exact_groups` (the caller checked that those high bits tell the groups apart) a
    run of equal keys is one bucket; otherwise the runs are split by the whole `_group`."""
    pos_bits = _bits(candidates.height)
    low = (1 << pos_bits) - 1
    value = (pl.col("simhash") // (1 << (_BLOCK_BITS * block))) & _BLOCK_MASK
    packed = candidates.select(
        (pl.col("_group") & (_WORD ^ ((1 << (_BLOCK_BITS + pos_bits)) - 1)))
        | (value * (1 << pos_bits))
        | pl.int_range(pl.len(), dtype=pl.UInt64)
    ).to_series()
    runs = _neighbours(packed, low)
    if exact_groups:
        bucket = candidates.select(
            pl.col("_packed", "simhash").gather(runs["row"]), bucket=runs["key"]
        ).sort("bucket", "_packed")
        start = pl.col("bucket") != pl.col("bucket").shift(1)
    else:
        bucket = candidates[runs["row"]].with_columns(value=value)
        bucket = bucket.sort("_group", "value", "_packed")
        start = (pl.col("_group") != pl.col("_group").shift(1)) | (
            pl.col("value") != pl.col("value").shift(1)
        )
    start = start.fill_null(True)

    def first(column: str) -> pl.Expr:
        return pl.when(start).then(pl.col(column)).forward_fill()

    return bucket.select(
        copy=pl.col("_packed"),
        leader=first("_packed"),
        distance=(pl.col("simhash") ^ first("simhash")).bitwise_count_ones(),
    ).filter((pl.col("copy") != pl.col("leader")) & (pl.col("distance") <= max_distance))


def _near_duplicate_leaders(candidates: pl.DataFrame, max_distance: int) -> pl.DataFrame:
    """(copy, leader): the `_packed` of every near copy among `candidates` and of the first
    article of its group."""
    pos_bits = _bits(candidates.height)
    groups = candidates["_group"].unique()
    high = _WORD ^ ((1 << (_BLOCK_BITS + pos_bits)) - 1)
    exact_groups = (groups & high).n_unique() == len(groups)
    pairs = pl.concat(
        _in_parallel(
            *(
                (lambda b=b: _block_pairs(candidates, b, max_distance, exact_groups=exact_groups))
                for b in range(SIMHASH_BLOCKS)
            )
        )
    )
    # The earliest leader any block found.
    leaders = pairs.group_by("copy").agg(pl.col("leader").min())
    # A leader that is itself a copy hands over its own leader (pointer jumping, so 32 rounds
    # collapse any chain to its root).
    for _ in range(32):
        step = leaders.join(
            leaders.rename({"copy": "leader", "leader": "root"}), on="leader", how="left"
        )
        if step["root"].null_count() == step.height:
            break
        leaders = step.select("copy", leader=pl.coalesce("root", "leader"))
    return leaders
