"""Checks on users and e-mail. Blocking where sending would do harm: a pending message that
carries another tenant's item stops `email_log` from sending in that run; one digest per
(user, kind, period) and stats that add up are ERROR; uncertain or stuck messages WARN.
(The health domain adds the delivery-failure share on `email_log`.)"""

import dagster as dg

from pipeline.defs.notify.assets import MESSAGE_KINDS
from pipeline.defs.shared.resources import WarehouseResource
from pipeline.lib import warehouse as wh
from pipeline.lib.notify.outbox import STALE_SENDING_S
from pipeline.lib.notify.routing import cross_tenant_items
from pipeline.lib.notify.users import DAILY_DIGEST, WEEKLY_DIGEST

# By key: the asset definitions are loaded from assets.py only.
USERS = dg.AssetKey("users")
NOTIFICATION_PREFERENCES = dg.AssetKey("notification_preferences")
EMAIL_LOG = dg.AssetKey("email_log")
NOTIFICATION_STATS = dg.AssetKey("notification_stats")
ERROR = dg.AssetCheckSeverity.ERROR
WARN = dg.AssetCheckSeverity.WARN


def _counts(warehouse: WarehouseResource, *queries: str) -> list[int]:
    """The single value of each query, read over one connection."""
    with warehouse.get_connection() as conn:
        return [wh.scalar(conn, sql) for sql in queries]


def _none_allowed(found: int, what: str, description: str) -> dg.AssetCheckResult:
    """ERROR unless nothing was `found` (counted as metadata `what`)."""
    return dg.AssetCheckResult(
        passed=found == 0, severity=ERROR, metadata={what: found}, description=description
    )


@dg.asset_check(
    asset=USERS,
    description="Every user's org_id is an organisation of the user's own tenant (a user "
    "of another tenant's organisation would get no grant matches: routing requires both).",
)
def users_org_in_own_tenant(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.get_connection() as conn:
        organizations = wh.scalar(conn, "SELECT count(*) FROM core.organizations")
        wrong = conn.execute(
            "SELECT u.user_id, u.org_id, o.tenant_id FROM notify.users u"
            " LEFT JOIN core.organizations o USING (org_id)"
            " WHERE u.org_id IS NOT NULL AND o.tenant_id IS DISTINCT FROM u.tenant_id"
            " ORDER BY u.user_id"
        ).fetchall()
    if not organizations:
        return dg.AssetCheckResult(
            passed=True, severity=WARN, description="no organisations loaded yet"
        )
    listed = "; ".join(
        f"{user}: {org} " + (f"belongs to {tenant}" if tenant else "is not an organisation")
        for user, org, tenant in wrong
    )
    return dg.AssetCheckResult(
        passed=not wrong,
        severity=WARN,
        metadata={"users_with_foreign_or_unknown_org": len(wrong)},
        description=listed or "every org_id belongs to its user's tenant",
    )


@dg.asset_check(
    asset=NOTIFICATION_PREFERENCES,
    blocking=True,
    description="Exactly one preferences row per user.",
)
def preferences_for_every_user(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    missing, orphans = _counts(
        warehouse,
        "SELECT count(*) FROM notify.users u ANTI JOIN notify.notification_preferences p"
        " USING (user_id)",
        "SELECT count(*) FROM notify.notification_preferences p ANTI JOIN notify.users u"
        " USING (user_id)",
    )
    return dg.AssetCheckResult(
        passed=missing == 0 and orphans == 0,
        severity=ERROR,
        metadata={"users_without_preferences": missing, "preferences_without_user": orphans},
        description=f"{missing} users without preferences, {orphans} preferences without user",
    )


def _pending_tenant_check(asset_name: str, kind: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(asset_name),
        name="pending_tenant_isolation",
        blocking=True,
        description="No unsent message of this kind carries another tenant's client news "
        "(blocking: email_log does not send in the same run).",
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.get_connection() as conn:
            crossed = cross_tenant_items(conn, kind=kind, pending_only=True)
        return _none_allowed(
            crossed,
            "cross_tenant_items",
            f"{crossed} pending {kind} item(s) of another tenant's client",
        )

    return _check


pending_tenant_checks = [_pending_tenant_check(name, kind) for name, kind in MESSAGE_KINDS.items()]


@dg.asset_check(
    asset=EMAIL_LOG,
    description="No recorded e-mail ever carried another tenant's client news.",
)
def tenant_isolation(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.get_connection() as conn:
        crossed = cross_tenant_items(conn)
    return _none_allowed(
        crossed, "cross_tenant_items", f"{crossed} item(s) recorded for a user of another tenant"
    )


@dg.asset_check(
    asset=EMAIL_LOG,
    description="At most one digest per user, kind and period.",
)
def one_digest_per_period(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    (twice,) = _counts(
        warehouse,
        "SELECT count(*) FROM (SELECT user_id, kind, period FROM notify.email_log"
        f" WHERE kind IN ('{DAILY_DIGEST}', '{WEEKLY_DIGEST}') GROUP BY ALL HAVING count(*) > 1)",
    )
    return _none_allowed(
        twice, "periods_with_two_digests", f"{twice} (user, kind, period) with more than one digest"
    )


@dg.asset_check(
    asset=EMAIL_LOG,
    description="E-mails interrupted between sending and recording (status uncertain: maybe "
    "delivered, not resent) or stuck in `sending`, for an operator to look at.",
)
def uncertain_or_stuck(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    uncertain, stuck = _counts(
        warehouse,
        "SELECT count(*) FROM notify.email_log WHERE status = 'uncertain'",
        "SELECT count(*) FROM notify.email_log WHERE status = 'sending'"
        f" AND updated_at < now() - INTERVAL {int(STALE_SENDING_S)} SECOND",
    )
    return dg.AssetCheckResult(
        passed=uncertain == 0 and stuck == 0,
        severity=WARN,
        metadata={"uncertain": uncertain, "stuck_sending": stuck},
        description=f"{uncertain} uncertain, {stuck} stuck in sending"
        + (" (check the SMTP server's log; set status = 'pending' to resend)" if uncertain else ""),
    )


@dg.asset_check(
    asset=NOTIFICATION_STATS,
    description="The stats count every e-mail in email_log once.",
)
def stats_cover_email_log(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    counted, logged, unbalanced = _counts(
        warehouse,
        "SELECT coalesce(sum(total), 0) FROM notify.notification_stats",
        "SELECT count(*) FROM notify.email_log",
        "SELECT count(*) FROM notify.notification_stats WHERE total <>"
        " sent + written + failed + pending + uncertain + cancelled",
    )
    # email_log can grow between the rebuild and this check (an operator alert), never shrink.
    return dg.AssetCheckResult(
        passed=counted <= logged and unbalanced == 0,
        severity=ERROR,
        metadata={"counted": int(counted), "in_email_log": logged, "unbalanced_rows": unbalanced},
        description=f"stats count {counted} e-mails, email_log holds {logged}; "
        f"{unbalanced} rows whose statuses do not add up",
    )
