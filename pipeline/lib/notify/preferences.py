"""Preferences people change themselves (the preferences page of `pipeline serve`), kept in
notify.preference_overrides as a layer over data/config/users.yaml: users.yaml stays the
operator's source, a NULL override column means "as users.yaml says", and the effective
values are users.yaml with the overrides applied, validated by the same rules as the file.

The notification_preferences / watchlists / users assets write the effective values; a save
also rewrites that user's rows at once, so the next digest follows it even before the
override sensor's run shows the change as a materialisation."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import replace
from pathlib import Path

import duckdb
from pydantic import ValidationError

from pipeline.lib import warehouse
from pipeline.lib.merge import REPLACE, merge_sql
from pipeline.lib.notify import directory
from pipeline.lib.notify.subscriptions import UnknownRecipient
from pipeline.lib.notify.users import User, UsersFile, load_users_file
from pipeline.lib.warehouse import Warehouse

log = logging.getLogger(__name__)

OVERRIDES_TABLE = "notify.preference_overrides"
# Override column -> where it lives in a users.yaml entry.
SCALAR_FIELDS = {
    "threshold": ("threshold",),
    "categories": ("categories",),
    "frequency": ("frequency",),
    "digest_day": ("digest", "day"),
    "digest_hour": ("digest", "hour"),
    "timezone": ("timezone",),
    "watchlists": ("watchlists",),
}


def _get(entry: dict, path: tuple[str, ...]):
    for key in path:
        entry = entry[key]
    return entry


def _set(entry: dict, path: tuple[str, ...], value) -> None:
    for key in path[:-1]:
        entry = entry[key]
    entry[path[-1]] = value


def read_overrides(conn: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """user_id -> the override columns that are set."""
    columns = list(SCALAR_FIELDS)
    rows = conn.execute(f"SELECT user_id, {', '.join(columns)} FROM {OVERRIDES_TABLE}").fetchall()
    overrides = {}
    for user_id, *values in rows:
        found = {c: v for c, v in zip(columns, values, strict=True) if v is not None}
        if "watchlists" in found:
            found["watchlists"] = json.loads(found["watchlists"])
        overrides[user_id] = found
    return overrides


def with_changes(user: User, changes: dict) -> User:
    """`user` with override columns applied; ValidationError when the result is invalid."""
    entry = user.model_dump()
    for column, value in changes.items():
        _set(entry, SCALAR_FIELDS[column], value)
    return User.model_validate(entry)


def apply_overrides(users_file: UsersFile, overrides: dict[str, dict]) -> UsersFile:
    """users.yaml with each user's overrides. An override that no longer validates (the
    operator changed something it depends on) is ignored with a warning, not fatal."""
    users = []
    for user in users_file.users:
        changes = overrides.get(user.user_id)
        if changes:
            try:
                user = with_changes(user, changes)
            except ValidationError as error:
                log.warning(
                    "preference overrides of %s ignored (invalid now): %s", user.user_id, error
                )
        users.append(user)
    return replace(users_file, users=users)


def effective_users(conn: duckdb.DuckDBPyConnection, users_file: UsersFile) -> UsersFile:
    return apply_overrides(users_file, read_overrides(conn))


def yaml_user(config_dir: Path, user_id: str) -> User | None:
    return next((u for u in load_users_file(config_dir).users if u.user_id == user_id), None)


def diff(base: User, wanted: User) -> dict:
    """The override columns where `wanted` differs from users.yaml's `base`."""
    base_entry, wanted_entry = base.model_dump(), wanted.model_dump()

    def comparable(entry: dict, column: str):
        value = _get(entry, SCALAR_FIELDS[column])
        return sorted(value) if column == "categories" else value  # order means nothing

    return {
        column: _get(wanted_entry, path)
        for column, path in SCALAR_FIELDS.items()
        if comparable(wanted_entry, column) != comparable(base_entry, column)
    }


def save_preferences(
    database: Warehouse, config_dir: Path, wanted: User, now: dt.datetime | None = None
) -> dict:
    """Store what `wanted` changes against users.yaml (all NULL when nothing differs) and
    rewrite the user's effective rows. Returns the stored changes."""
    now = now or dt.datetime.now(dt.UTC)
    users_file = load_users_file(config_dir)
    base = next((u for u in users_file.users if u.user_id == wanted.user_id), None)
    if base is None:
        raise UnknownRecipient(f"{wanted.user_id} is not in users.yaml")
    changes = diff(base, wanted)
    values = {
        column: (json.dumps(changes[column]) if column == "watchlists" else changes.get(column))
        if column in changes
        else None
        for column in SCALAR_FIELDS
    }
    one_user = replace(users_file, users=[wanted])
    with warehouse.connection(database) as conn:
        # The override row changes even when the diff is empty (back to users.yaml), so the
        # sensor still sees a change and re-materialises the preferences.
        columns = ["user_id", *SCALAR_FIELDS, "updated_at"]
        conn.execute(
            merge_sql(
                OVERRIDES_TABLE,
                columns,
                f"VALUES ({', '.join('?' for _ in columns)})",
                update=REPLACE,
            ),
            [wanted.user_id, *values.values(), now],
        )
        where = ("user_id = ?", [wanted.user_id])
        warehouse.replace_where(
            conn, "notify.notification_preferences", directory.preferences_frame(one_user), *where
        )
        warehouse.replace_where(
            conn, "notify.watchlists", directory.watchlists_frame(one_user), *where
        )
        conn.execute(
            "UPDATE notify.users SET timezone = ?, updated_at = ? WHERE user_id = ?",
            [wanted.timezone, now, wanted.user_id],
        )
    return changes


def overrides_marker(conn: duckdb.DuckDBPyConnection) -> str:
    """Changes whenever an override is saved: the sensor's cursor."""
    count, latest = conn.execute(
        f"SELECT count(*), max(updated_at) FROM {OVERRIDES_TABLE}"
    ).fetchone()
    return f"{count}:{latest.isoformat() if latest else '-'}"
