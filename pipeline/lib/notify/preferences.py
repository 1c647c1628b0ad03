"""Preferences people change themselves (the preferences page of `pipeline serve`), kept in
notify.preference_overrides as a layer over data/config/users.yaml: users.yaml stays the
operator's source, a NULL override column means "as users.yaml says", and the effective
values are users.yaml with the overrides applied, validated by the same rules as the file.

A save on the page is appended to the recipient event store (`pipeline serve` never opens the
warehouse); the page reads it back from there. The fold-in (event_fold) stores it as the
user's override row and rewrites that user's effective rows; the notification_preferences /
watchlists / users assets write the effective values of everyone."""

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
from pipeline.lib.notify.recipient_events import PREFERENCES, RecipientEvents
from pipeline.lib.notify.subscriptions import UnknownRecipient
from pipeline.lib.notify.users import User, UsersFile, load_users_file

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


def record_preferences(
    events: RecipientEvents, config_dir: Path, wanted: User, now: dt.datetime | None = None
) -> dict:
    """Append what `wanted` changes against users.yaml (empty when nothing differs: back to
    users.yaml) as a `preferences` event; the fold-in stores it (write_overrides). Returns
    the changes."""
    base = yaml_user(config_dir, wanted.user_id)
    if base is None:
        raise UnknownRecipient(f"{wanted.user_id} is not in users.yaml")
    changes = diff(base, wanted)
    events.append(PREFERENCES, user_id=wanted.user_id, detail=changes, now=now)
    return changes


def current_changes(events: RecipientEvents, user_id: str) -> dict:
    """The user's saved changes as the event store has them (before any fold-in)."""
    return events.preference_changes(user_id) or {}


def write_overrides(
    conn: duckdb.DuckDBPyConnection, users_file: UsersFile, user_id: str, changes: dict,
    at: dt.datetime,
) -> bool:  # fmt: skip
    """Store one user's saved changes as their override row (updated_at = when they were
    saved) and rewrite their effective rows. False when the user is not in users.yaml."""
    base = next((u for u in users_file.users if u.user_id == user_id), None)
    if base is None:
        log.warning("preferences of %s not applied: not in users.yaml any more", user_id)
        return False
    values = [
        (json.dumps(changes[c]) if c == "watchlists" else changes[c]) if c in changes else None
        for c in SCALAR_FIELDS
    ]
    # The override row changes even when the diff is empty (back to users.yaml).
    columns = ["user_id", *SCALAR_FIELDS, "updated_at"]
    conn.execute(
        merge_sql(
            OVERRIDES_TABLE, columns, f"VALUES ({', '.join('?' for _ in columns)})", update=REPLACE
        ),
        [user_id, *values, at],
    )
    try:
        wanted = with_changes(base, changes)
    except ValidationError as error:  # users.yaml changed under it: kept, not applied
        log.warning("preference overrides of %s ignored (invalid now): %s", user_id, error)
        return True
    one_user = replace(users_file, users=[wanted])
    where = ("user_id = ?", [user_id])
    warehouse.replace_where(
        conn, "notify.notification_preferences", directory.preferences_frame(one_user), *where
    )
    warehouse.replace_where(conn, "notify.watchlists", directory.watchlists_frame(one_user), *where)
    conn.execute(
        "UPDATE notify.users SET timezone = ?, updated_at = ? WHERE user_id = ?",
        [wanted.timezone, at, user_id],
    )
    return True
