"""One user's routed items in sections: grouped per user, sorted, capped at `cap` with the
count of the rest, news copies of one story collapsed into one item."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from pipeline.lib.news.stories import news_stories, outlet
from pipeline.lib.notify.digest_items import grant_item, joined, news_item, plural, update_item
from pipeline.lib.notify.render import Section
from pipeline.lib.notify.routing import Routed


@dataclass
class Group:
    """One user's rows of one section: the first `cap` rows in order, and all their keys."""

    rows: list[dict]
    total: int
    keys: tuple[str, ...]  # a tuple, not a list: the collector stops scanning tuples of strings
    is_sample: bool


def group_by_user(
    frame: pl.DataFrame, order: Sequence[tuple[str, bool]], cap: int
) -> dict[str, Group]:
    """Per user: rows sorted by `order` ((column, descending), nulls last), capped at `cap`.
    Sorting, ranking and key lists are done by Polars over all users at once."""
    if frame.is_empty():
        return {}
    # Sorted by `order` alone: the ranks and key lists per user keep that order, and leaving the
    # user out of the sort saves comparing a million user ids.
    frame = frame.sort(
        [c for c, _ in order], descending=[d for _, d in order], nulls_last=True
    ).with_columns(rank=pl.int_range(pl.len()).over("user_id"))
    # Collapsed copies of a story (copy_keys) are delivered with the story they joined.
    copies = (
        pl.col("copy_keys").list.explode(keep_nulls=False, empty_as_null=False)
        if "copy_keys" in frame.columns
        else None
    )
    summary = frame.group_by("user_id").agg(
        total=pl.len(),
        keys=pl.col("item_key"),
        is_sample=pl.col("is_sample").any(),
        copies=copies if copies is not None else pl.lit(None, dtype=pl.List(pl.String)),
    )
    groups = {
        user_id: Group([], total, (*keys, *(copy_keys or ())), is_sample)
        for user_id, total, keys, is_sample, copy_keys in summary.iter_rows()
    }
    for row in frame.filter(pl.col("rank") < cap).iter_rows(named=True):
        groups[row["user_id"]].rows.append(row)
    return groups


GRANT_ORDER = (("score", True), ("close_date", False), ("title", False))
UPDATE_ORDER = (("close_date", False), ("changed_at", True), ("title", False))
NEWS_ORDER = (("relevance", True), ("published_at", True), ("title", False))
DEADLINE_ORDER = (("days_left", False), ("score", True), ("title", False))


@dataclass
class UserItems:
    """One user's sections, in the order they appear in the e-mail."""

    sections: list[tuple[str, str, Group, object]]  # (key, title, group, item builder)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(k for _, _, g, _ in self.sections for k in g.keys)

    @property
    def is_sample(self) -> bool:
        return any(g.is_sample for _, _, g, _ in self.sections)

    def count(self, key: str) -> int:
        return sum(g.total for k, _, g, _ in self.sections if k == key)

    def render(self, today: dt.date) -> tuple[Section, ...]:
        return tuple(
            Section(
                title,
                tuple(build(row, today) for row in group.rows),
                more=group.total - len(group.rows),
            )
            for _, title, group, build in self.sections
            if group.total
        )


SECTION_NOUNS = {
    "matches": ("grant match", "grant matches"),
    "watchlist": ("new grant on your watchlists", "new grants on your watchlists"),
    "updates": ("grant update", None),
    "news": ("client news", "client news"),
}


def counts_phrase(items: UserItems) -> str:
    """'3 grant matches and 5 client news'"""
    parts = []
    for key, (one, many) in SECTION_NOUNS.items():
        count = items.count(key)
        if count:
            parts.append(plural(count, one, many))
    return joined(parts)


def collapse_news_copies(news: pl.DataFrame) -> pl.DataFrame:
    """One row per (user, story): the most relevant copy (then the newest), with `copy_keys`
    (the other copies' item keys, delivered with it), `also` (the other clients it is about)
    and `also_reported_by` (the other outlets that reported it)."""
    if news.is_empty():
        return news
    sources = news["source_name"] if "source_name" in news.columns else [None] * news.height
    ranked = (
        news.with_columns(
            outlet=pl.Series([outlet(s, u) for s, u in zip(sources, news["url"], strict=True)])
        )
        .join(news_stories(news), on=["client_id", "article_id"], how="left")
        .sort(["relevance", "published_at"], descending=True, nulls_last=True)
        .with_columns(copy=pl.int_range(pl.len()).over("user_id", "story"))
    )
    copies = (
        ranked.filter(pl.col("copy") > 0)
        .group_by("user_id", "story")
        .agg(
            copy_keys=pl.col("item_key"),
            also=pl.col("client_name").unique(maintain_order=True),
            also_reported_by=pl.col("outlet").unique(maintain_order=True),
        )
    )
    kept = ranked.filter(pl.col("copy") == 0).join(copies, on=["user_id", "story"], how="left")
    return kept.with_columns(
        also=pl.col("also").list.set_difference(pl.concat_list(pl.col("client_name"))),
        also_reported_by=pl.col("also_reported_by").list.set_difference(
            pl.concat_list(pl.col("outlet"))
        ),
    ).drop("copy", "story", "outlet")


def items_per_user(routed: Routed, cap: int) -> dict[str, UserItems]:
    """The routed items of each user in sections, capped."""
    grants = routed.grants
    matched = grants.filter(pl.col("score").is_not_null())
    listed = grants.filter(pl.col("score").is_null())
    groups = [
        ("matches", "Grant matches", group_by_user(matched, GRANT_ORDER, cap), grant_item),
        (
            "watchlist",
            "New grants on your watchlists",
            group_by_user(listed, GRANT_ORDER, cap),
            grant_item,
        ),
        ("updates", "Grant updates", group_by_user(routed.updates, UPDATE_ORDER, cap), update_item),
        (
            "news",
            "Client news",
            group_by_user(collapse_news_copies(routed.news), NEWS_ORDER, cap),
            news_item,
        ),
    ]
    users: dict[str, UserItems] = defaultdict(lambda: UserItems([]))
    for key, title, by_user, build in groups:
        for user_id, group in by_user.items():
            users[user_id].sections.append((key, title, group, build))
    return dict(users)
