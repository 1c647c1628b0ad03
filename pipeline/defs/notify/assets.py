"""Notification assets: the users and their preferences from data/config/users.yaml; the
messages (instant alerts, daily and weekly digests, deadline reminders), each rendered and
recorded as `pending` in notify.email_log before anything is sent; `email_log`, the one place
user e-mail leaves (SMTP or .eml files, through the exactly-once outbox); and delivery stats.

Message assets and their schedule:
* instant_alerts runs when scores land (eager after grant_matches / news_scores);
* notify_hourly_schedule runs the message assets every hour with `due_now_only: true`, so each
  user's digest goes out once their local digest hour has come (periods.py);
* a manual materialisation or `pipeline demo` (no config) builds the digests due for the
  current period whatever the hour. Either way a period gets one digest.
"""

import datetime as dt

import dagster as dg
from pydantic import Field

from pipeline.defs.shared.asset_keys import (
    CLIENT_NEWS,
    CRM_CLIENTS,
    GRANT_CHANGES,
    GRANT_MATCHES,
    GRANTS,
    NEWS_SCORES,
)
from pipeline.defs.shared.automation import AFTER_ANY_UPDATE
from pipeline.defs.shared.metadata import table_metadata
from pipeline.defs.shared.resources import WarehouseResource
from pipeline.lib.notify import digests, directory, outbox, preferences
from pipeline.lib.notify.mailer import MailSettings
from pipeline.lib.notify.outbox import DEFAULT_MAX_ATTEMPTS, DEFAULT_RETRY_DELAYS_S
from pipeline.lib.notify.secret import UnsubscribeSecretError
from pipeline.lib.notify.stats import rebuild_stats
from pipeline.lib.notify.users import (
    DAILY_DIGEST,
    DEADLINE_REMINDER,
    INSTANT_ALERT,
    WEEKLY_DIGEST,
    load_users_file,
)
from pipeline.lib.settings import settings

GROUP = "notify"


def _now(as_of: str) -> dt.datetime:
    if not as_of:
        return dt.datetime.now(dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(as_of)
    except ValueError as error:
        raise dg.Failure(f"as_of must be an ISO date-time, e.g. 2026-03-02T13:00:00+00:00, "
                         f"not {as_of!r}") from error  # fmt: skip
    if moment.tzinfo is None:
        raise dg.Failure(f"as_of needs a UTC offset (e.g. +00:00): {as_of!r}")
    return moment.astimezone(dt.UTC)


class MessageConfig(dg.Config):
    as_of: str = Field(
        "",
        description="Evaluate as of this ISO date-time (the hourly schedule passes its tick); "
        "empty = now.",
    )
    cap: int = Field(
        digests.DEFAULT_CAP, ge=1, description="Items listed per section before 'and N more'."
    )


class DueConfig(MessageConfig):
    due_now_only: bool = Field(
        False,
        description="Only users whose local digest hour has come (the hourly schedule sets "
        "this); false = everything due in the current period, whatever the hour.",
    )


# --- users.yaml ----------------------------------------------------------------------------

# users_config_sensor reloads these when users.yaml changes; the daily cron keeps them (and
# their freshness) current even when nothing changed.
DAILY = dg.AutomationCondition.on_cron("0 0 * * *")
# What the three assets read from users.yaml have in common.
FROM_USERS_YAML = {"group_name": GROUP, "kinds": {"duckdb", "yaml"}, "automation_condition": DAILY}


def _mail_settings() -> MailSettings:
    """A too-short PIPELINE_UNSUBSCRIBE_SECRET fails the step with its one-line reason."""
    try:
        return MailSettings.from_env(settings().outbox)
    except UnsubscribeSecretError as error:
        raise dg.Failure(description=str(error)) from error


def _users_file(context: dg.AssetExecutionContext):
    try:
        users_file = load_users_file(settings().config_dir)
    except ValueError as error:
        # The tables keep their last good state; nothing downstream runs on a broken file.
        raise dg.Failure(description=str(error)) from error
    if not users_file.users:
        context.log.warning(f"no users in {users_file.path}: nobody gets e-mail")
    return users_file


@dg.asset(
    **FROM_USERS_YAML,
    description="Who receives e-mail (notify.users), from data/config/users.yaml: address, "
    "tenant, role, organisation, timezone. is_sample when the file says `sample: true`.",
)
def users(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    users_file = _users_file(context)
    with warehouse.get_connection() as conn:
        users_file = preferences.effective_users(conn, users_file)
        directory.write_users(conn, users_file, dt.datetime.now(dt.UTC))
        metadata = table_metadata(conn, "notify.users", order_by="tenant_id, user_id")
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "file": str(users_file.path),
            "is_sample": users_file.is_sample,
            "tenants": len({u.tenant for u in users_file.users}),
        }
    )


@dg.asset(
    **FROM_USERS_YAML,
    deps=[users],
    description="Per user: relevance threshold, news categories, assigned clients only or "
    "all, frequency (instant/daily/weekly), digest day and hour, timezone, the e-mail kinds "
    "they get (notify.notification_preferences): users.yaml with the changes people made on "
    "the preferences page (notify.preference_overrides) applied.",
)
def notification_preferences(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    users_file = _users_file(context)
    with warehouse.get_connection() as conn:
        overrides = preferences.read_overrides(conn)
        users_file = preferences.apply_overrides(users_file, overrides)
        directory.write_preferences(conn, users_file)
        metadata = table_metadata(conn, "notify.notification_preferences", order_by="user_id")
        frequencies = dict(
            conn.execute(
                "SELECT frequency, count(*) FROM notify.notification_preferences GROUP BY ALL"
            ).fetchall()
        )
    return dg.MaterializeResult(
        metadata={
            **metadata,
            **{f"frequency_{k}": v for k, v in sorted(frequencies.items())},
            "users_with_overrides": len([o for o in overrides.values() if o]),
        }
    )


@dg.asset(
    **FROM_USERS_YAML,
    deps=[users],
    description="Saved grant searches per user (notify.watchlists): include/exclude "
    "keywords, agencies, eligibility, amount range. Matching grants reach digests and "
    "deadline reminders.",
)
def watchlists(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    users_file = _users_file(context)
    with warehouse.get_connection() as conn:
        users_file = preferences.effective_users(conn, users_file)
        directory.write_watchlists(conn, users_file)
        metadata = table_metadata(conn, "notify.watchlists", order_by="user_id, name")
    return dg.MaterializeResult(metadata=metadata)


# --- messages ------------------------------------------------------------------------------


def record_plan(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    kind: str,
    config: MessageConfig,
    plan_messages,
) -> dg.MaterializeResult:
    """Plan (reading the warehouse, as of the config's time), render (no connection held:
    10,000 messages take a while), then record everything in one transaction."""
    now = _now(config.as_of)
    with warehouse.get_connection() as conn:
        plan = plan_messages(conn, now)
    messages = digests.compose(_mail_settings(), plan.emails, now)
    with warehouse.get_connection() as conn:
        recorded = outbox.record(conn, messages, now)
        if kind == INSTANT_ALERT:
            digests.write_cursor(conn, digests.INSTANT_CURSOR, now)
        metadata = table_metadata(
            conn,
            "notify.email_log",
            where_sql="kind = ?",
            params=[kind],
            order_by="created_at DESC",
        )
    skipped = len(messages) - len(recorded)
    fresh = set(recorded)
    context.log.info(
        f"{kind}: {len(recorded)} message(s) recorded for {plan.recipients} recipient(s)"
        + (f"; {skipped} already recorded by an earlier run" if skipped else "")
    )
    metadata["dagster/row_count"] = metadata.pop("slice_row_count")
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "as_of": now.isoformat(),
            "recipients": plan.recipients,
            "due": plan.due,
            "routed_items": plan.routed,
            "messages_recorded": len(recorded),
            "messages_skipped": skipped,
            "items": sum(len(m.item_keys) for m in messages if m.message_id in fresh),
        }
    )


MESSAGE_DEPS = [GRANT_MATCHES, NEWS_SCORES, GRANTS, GRANT_CHANGES, CLIENT_NEWS, CRM_CLIENTS]


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb", "email"},
    deps=[*MESSAGE_DEPS, notification_preferences, watchlists],
    automation_condition=AFTER_ANY_UPDATE,
    description="One e-mail per instant user and run with the items scored since the last "
    "run above their threshold, in their categories and assignments: each item once per "
    "user. Recorded in notify.email_log; `email_log` sends them.",
)
def instant_alerts(
    context: dg.AssetExecutionContext, config: MessageConfig, warehouse: WarehouseResource
):
    def plan(conn, now):
        return digests.plan_instant_alerts(conn, now, config.cap)

    return record_plan(context, warehouse, INSTANT_ALERT, config, plan)


def _due_message_asset(kind: str, name: str, description: str, deps: list, plan_due):
    """A message asset of the messages due now: `plan_due(conn, now, due_now_only=, cap=)`."""

    @dg.asset(
        name=name, group_name=GROUP, kinds={"duckdb", "email"}, deps=deps, description=description
    )
    def _messages(
        context: dg.AssetExecutionContext, config: DueConfig, warehouse: WarehouseResource
    ):
        def plan(conn, now):
            return plan_due(conn, now, due_now_only=config.due_now_only, cap=config.cap)

        return record_plan(context, warehouse, kind, config, plan)

    return _messages


def _digest_asset(kind: str, description: str):
    """A digest's asset, named after its kind."""

    def plan(conn, now, **due):
        return digests.plan_digests(conn, kind, now, **due)

    deps = [*MESSAGE_DEPS, notification_preferences, watchlists]
    return _due_message_asset(kind, kind, description, deps, plan)


daily_digest = _digest_asset(
    DAILY_DIGEST,
    "Daily digest per daily user and local date: grant matches, watchlist grants, grant "
    "updates and client news new since their last digest, sorted by score and deadline, "
    "capped with 'and N more'. Hourly schedule: sent from the user's local digest hour.",
)
weekly_digest = _digest_asset(
    WEEKLY_DIGEST,
    "Weekly digest per weekly user and ISO week, from their digest weekday and hour in "
    "their timezone; same content rules as the daily digest.",
)
deadline_reminders = _due_message_asset(
    DEADLINE_REMINDER,
    "deadline_reminders",
    "Reminders for grants a user is matched to (above threshold) or watches, "
    "closing in 14, 7 or 2 days in the user's local date (urgency low / medium / high), once "
    "per user, grant, deadline and mark; a missed day still sends the current mark once.",
    [GRANTS, GRANT_MATCHES, notification_preferences, watchlists],
    digests.plan_deadline_reminders,
)


MESSAGE_ASSETS = [instant_alerts, daily_digest, weekly_digest, deadline_reminders]
# Other modules of this folder refer to assets by key: a definition imported into a second defs
# module would be loaded twice ("duplicate asset key").
MESSAGE_KINDS = {
    "instant_alerts": INSTANT_ALERT,
    "daily_digest": DAILY_DIGEST,
    "weekly_digest": WEEKLY_DIGEST,
    "deadline_reminders": DEADLINE_REMINDER,
}


# --- delivery ------------------------------------------------------------------------------


class DeliveryConfig(dg.Config):
    retry_delays_s: list[float] = Field(
        default_factory=lambda: list(DEFAULT_RETRY_DELAYS_S),
        description="Waits between in-run retries of temporary failures (4xx, refused "
        "connection); later retries happen in the next run, with backoff.",
    )
    max_attempts: int = Field(
        DEFAULT_MAX_ATTEMPTS, ge=1, description="Attempts before a temporary failure is final."
    )


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb", "email"},
    deps=MESSAGE_ASSETS,
    automation_condition=AFTER_ANY_UPDATE,
    description="notify.email_log: every e-mail, recorded before it is sent. Materialising "
    "sends what is pending (SMTP when SMTP_HOST is set, else .eml files in PIPELINE_OUTBOX): "
    "sent/written once accepted, temporary failures retried, permanent ones failed with the "
    "reason, interrupted sends marked uncertain instead of resent.",
)
def email_log(
    context: dg.AssetExecutionContext, config: DeliveryConfig, warehouse: WarehouseResource
):
    mail = _mail_settings()
    transport = mail.transport()
    report = outbox.deliver_pending(
        warehouse.backend,
        transport,
        retry_delays_s=config.retry_delays_s,
        max_attempts=config.max_attempts,
    )
    for message_id in report.failed:
        context.log.warning(f"e-mail {message_id} failed: {report.errors.get(message_id)}")
    if report.uncertain:
        context.log.warning(
            f"{len(report.uncertain)} e-mail(s) were interrupted between sending and "
            "recording: marked uncertain, not resent (set status back to 'pending' to resend)"
        )
    with warehouse.get_connection() as conn:
        metadata = table_metadata(conn, "notify.email_log", order_by="created_at DESC")
        statuses = dict(
            conn.execute("SELECT status, count(*) FROM notify.email_log GROUP BY ALL").fetchall()
        )
    return dg.MaterializeResult(
        metadata={
            **metadata,
            **report.as_metadata(),
            "transport": "smtp" if mail.smtp.enabled else f"outbox ({mail.outbox})",
            **{f"status_{k}": v for k, v in sorted(statuses.items())},
        }
    )


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb"},
    # By key: the fold-in asset is defined in recipient_events.py.
    deps=[email_log, dg.AssetKey("recipient_events")],
    automation_condition=AFTER_ANY_UPDATE,
    description="E-mails per UTC day and kind: sent, written to the outbox, failed, pending, "
    "uncertain, cancelled, and opened / clicked as tracked by `pipeline serve` "
    "(notify.notification_stats).",
)
def notification_stats(warehouse: WarehouseResource):
    with warehouse.get_connection() as conn:
        rebuild_stats(conn, dt.datetime.now(dt.UTC))
        metadata = table_metadata(conn, "notify.notification_stats", order_by="day DESC, kind")
        totals = conn.execute(
            "SELECT coalesce(sum(sent), 0), coalesce(sum(written), 0), coalesce(sum(failed), 0),"
            " coalesce(sum(pending), 0), coalesce(sum(opened), 0), coalesce(sum(clicked), 0)"
            " FROM notify.notification_stats"
        ).fetchall()[0]
    names = ("sent", "written", "failed", "pending", "opened", "clicked")
    return dg.MaterializeResult(
        metadata={**metadata, **dict(zip(names, map(int, totals), strict=True))}
    )
