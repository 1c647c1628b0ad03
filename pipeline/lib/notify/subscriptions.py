"""Unsubscribes per (user, kind), honoured by every message kind: a user who unsubscribed is
left out of the audience, and a message recorded before the unsubscribe is cancelled instead
of sent (outbox.cancel_unsubscribed).

The unsubscribe link in each e-mail points at `pipeline serve` (PIPELINE_PUBLIC_URL/unsubscribe
?token=...); it, `pipeline unsubscribe TOKEN` and anything else that gets a token call
`unsubscribe_with_token`, which appends to the recipient event store; the fold-in
(event_fold) applies it to notify.unsubscribes with `record_unsubscribe` / `resubscribe`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from pipeline.lib.merge import merge_sql
from pipeline.lib.notify.mailer import unsubscribe_secret
from pipeline.lib.notify.outbox import cancel_unsubscribed
from pipeline.lib.notify.recipient_events import RESUBSCRIBE, UNSUBSCRIBE, RecipientEvents
from pipeline.lib.notify.unsubscribe import verify_token
from pipeline.lib.notify.users import USER_KINDS, load_users_file


class InvalidUnsubscribeToken(ValueError):
    """The token was not signed with this deployment's secret (or is mangled)."""


class UnknownRecipient(ValueError):
    """A correctly signed token for an address that is not (or no longer) a user."""


def verify_unsubscribe_token(token: str, *, secret: str | None = None) -> tuple[str, str]:
    """(user_id, kind) of a token this deployment signed; InvalidUnsubscribeToken otherwise."""
    verified = verify_token(secret or unsubscribe_secret(), token)
    if verified is None:
        raise InvalidUnsubscribeToken(
            "the unsubscribe token is invalid: mangled, or signed with another"
            " PIPELINE_UNSUBSCRIBE_SECRET"
        )
    return verified


def require_user(config_dir: Path, user_id: str) -> None:
    """UnknownRecipient unless `user_id` is in users.yaml (ValueError when the file is broken)."""
    if not any(u.user_id == user_id for u in load_users_file(config_dir).users):
        raise UnknownRecipient(f"{user_id} is not a user of this deployment (see users.yaml)")


def require_kind(kind: str) -> None:
    if kind not in USER_KINDS:
        raise ValueError(f"cannot unsubscribe from {kind!r}; kinds: {', '.join(USER_KINDS)}")


def record_unsubscribe(
    conn: duckdb.DuckDBPyConnection, user_id: str, kind: str, now: dt.datetime | None = None
) -> bool:
    """Stop `kind` for `user_id` and cancel what is still waiting to be sent. True when the
    user was subscribed until now."""
    require_kind(kind)
    now = now or dt.datetime.now(dt.UTC)
    # No RETURNING: the DuckLake backend does not support it (pipeline.lib.lake).
    already = conn.execute(
        "SELECT count(*) FROM notify.unsubscribes WHERE user_id = ? AND kind = ?", [user_id, kind]
    ).fetchall()[0][0]
    conn.execute(
        merge_sql(
            "notify.unsubscribes", ["user_id", "kind", "unsubscribed_at"], "VALUES (?, ?, ?)"
        ),
        [user_id, kind, now],
    )
    cancel_unsubscribed(conn, now)
    return not already


def resubscribe(conn: duckdb.DuckDBPyConnection, user_id: str, kind: str) -> bool:
    """Undo an unsubscribe. True when there was one."""
    removed = conn.execute(
        "DELETE FROM notify.unsubscribes WHERE user_id = ? AND kind = ?", [user_id, kind]
    ).fetchall()[0][0]  # the row count (DuckLake has no RETURNING)
    return removed > 0


def unsubscribe_with_token(
    events: RecipientEvents, config_dir: Path, token: str, *, secret: str | None = None
) -> tuple[str, str, bool]:
    """Append the unsubscribe a link's token stands for to the event store (it counts from
    then on: the sender reads the store): (user_id, kind, newly unsubscribed). Raises
    InvalidUnsubscribeToken for a token this deployment did not sign, UnknownRecipient for an
    address that is not a user, ValueError for a kind that cannot be stopped."""
    user_id, kind = verify_unsubscribe_token(token, secret=secret)
    require_user(config_dir, user_id)
    require_kind(kind)
    if events.is_unsubscribed(user_id, kind):
        return user_id, kind, False  # clicking twice is fine: nothing new to record
    events.append(UNSUBSCRIBE, user_id=user_id, kind=kind)
    return user_id, kind, True


def resubscribe_user(events: RecipientEvents, config_dir: Path, user_id: str, kind: str) -> bool:
    """Undo an unsubscribe in the event store. True when there was one."""
    require_user(config_dir, user_id)
    require_kind(kind)
    if not events.is_unsubscribed(user_id, kind):
        return False
    events.append(RESUBSCRIBE, user_id=user_id, kind=kind)
    return True
