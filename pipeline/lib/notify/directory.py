"""users.yaml into notify.users, notify.notification_preferences and notify.watchlists. Each
table is replaced whole in one transaction, so a user removed from the file stops receiving
e-mail and the history in email_log / delivered_items stays."""

from __future__ import annotations

import datetime as dt
from operator import attrgetter

import duckdb
import polars as pl

from pipeline.lib import warehouse
from pipeline.lib.frames import attribute_frame
from pipeline.lib.notify.users import UsersFile, watchlist_id

USERS_SCHEMA = {
    "user_id": pl.String,
    "email": pl.String,
    "name": pl.String,
    "tenant_id": pl.String,
    "role": pl.String,
    "org_id": pl.String,
    "timezone": pl.String,
    "is_sample": pl.Boolean,
    "updated_at": pl.Datetime("us", "UTC"),
}
PREFERENCES_SCHEMA = {
    "user_id": pl.String,
    "threshold": pl.Float64,
    "categories": pl.List(pl.String),
    "assigned_only": pl.Boolean,
    "frequency": pl.String,
    "digest_day": pl.String,
    "digest_hour": pl.Int32,
    "timezone": pl.String,
    "kinds": pl.List(pl.String),
    "is_sample": pl.Boolean,
}


def users_frame(users_file: UsersFile, now: dt.datetime) -> pl.DataFrame:
    return attribute_frame(
        users_file.users,
        USERS_SCHEMA,
        tenant_id=attrgetter("tenant"),
        is_sample=lambda _: users_file.is_sample,
        updated_at=lambda _: now,
    )


def preferences_frame(users_file: UsersFile) -> pl.DataFrame:
    return attribute_frame(
        users_file.users,
        PREFERENCES_SCHEMA,
        categories=lambda u: list(u.categories),
        digest_day=attrgetter("digest.day"),
        digest_hour=attrgetter("digest.hour"),
        is_sample=lambda _: users_file.is_sample,
    )


def watchlists_frame(users_file: UsersFile) -> pl.DataFrame:
    rows = [
        {
            "watchlist_id": watchlist_id(u.user_id, w.name),
            "user_id": u.user_id,
            "tenant_id": u.tenant,
            "name": w.name,
            "include_keywords": list(w.include_keywords),
            "exclude_keywords": list(w.exclude_keywords),
            "agencies": list(w.agencies),
            "eligibility": list(w.eligibility),
            "amount_min": w.amount_min,
            "amount_max": w.amount_max,
            "is_sample": users_file.is_sample,
        }
        for u in users_file.users
        for w in u.watchlists
    ]
    return pl.DataFrame(
        rows,
        schema={
            "watchlist_id": pl.String,
            "user_id": pl.String,
            "tenant_id": pl.String,
            "name": pl.String,
            "include_keywords": pl.List(pl.String),
            "exclude_keywords": pl.List(pl.String),
            "agencies": pl.List(pl.String),
            "eligibility": pl.List(pl.String),
            "amount_min": pl.Float64,
            "amount_max": pl.Float64,
            "is_sample": pl.Boolean,
        },
    )


def replace_table(conn: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
    return warehouse.replace_where(conn, table, frame, "true")


def write_users(conn: duckdb.DuckDBPyConnection, users_file: UsersFile, now: dt.datetime) -> int:
    return replace_table(conn, "notify.users", users_frame(users_file, now))


def write_preferences(conn: duckdb.DuckDBPyConnection, users_file: UsersFile) -> int:
    return replace_table(conn, "notify.notification_preferences", preferences_frame(users_file))


def write_watchlists(conn: duckdb.DuckDBPyConnection, users_file: UsersFile) -> int:
    return replace_table(conn, "notify.watchlists", watchlists_frame(users_file))
