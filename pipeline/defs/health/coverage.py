"""Cross-cutting checks for every asset a domain did not already cover: freshness
(build_last_update_freshness_checks, window from the asset's FreshnessPolicy), schema drift
(build_column_schema_change_checks) and volume anomaly (row count against the trailing median).

All WARN and non-blocking: staleness, a changed schema or an odd volume are for an operator to
look at, not a reason to stop downstream (the domains' own ERROR checks guard correctness).
pipeline/definitions.py adds them once the whole code location is loaded.
"""

import datetime as dt
import warnings
from collections import defaultdict

import dagster as dg

from pipeline.defs.health.builders import (
    delivery_failure_share_check,
    source_error_share_check,
    volume_anomaly_checks,
)

# Assets without a time-window FreshnessPolicy (sales follow uploads) still warn when nothing
# has refreshed them for this long.
DEFAULT_FRESHNESS_WINDOW = dt.timedelta(days=8)
WARN = dg.AssetCheckSeverity.WARN


# Share checks the issue names for particular assets (agreed names in COMMON.md): added where
# the asset exists and its domain has no check of that kind (matched by name).
SHARE_CHECKS = {
    "raw_grant_events": (
        ("error_share", "source_error"),
        lambda: source_error_share_check("raw_grant_events", "grant"),
    ),
    "raw_news_events": (
        ("error_share", "source_error"),
        lambda: source_error_share_check("raw_news_events", "news"),
    ),
    "email_log": (
        ("delivery", "failure_share", "failed_share"),
        lambda: delivery_failure_share_check("email_log"),
    ),
}


def _has_check(check_names: set[str], *markers: str) -> bool:
    return any(marker in name for name in check_names for marker in markers)


def _freshness_window(node) -> dt.timedelta:
    fail_window = getattr(node.freshness_policy, "fail_window", None)
    return fail_window.to_timedelta() if fail_window is not None else DEFAULT_FRESHNESS_WINDOW


def cross_cutting_checks(defs: dg.Definitions) -> list[dg.AssetChecksDefinition]:
    """The freshness, schema-change, volume and share checks missing from `defs`' assets."""
    graph = defs.resolve_asset_graph()
    keys = sorted(graph.materializable_asset_keys, key=lambda k: k.to_user_string())
    need_freshness: dict[dt.timedelta, list[dg.AssetKey]] = defaultdict(list)
    need_schema, need_volume = [], []
    for key in keys:
        node = graph.get(key)
        names = {check_key.name for check_key in node.check_keys}
        if not _has_check(names, "fresh"):
            need_freshness[_freshness_window(node)].append(key)
        if not _has_check(names, "schema"):
            need_schema.append(key)
        if not _has_check(names, "volume", "row_count"):
            need_volume.append(key)
    checks: list[dg.AssetChecksDefinition] = []
    with warnings.catch_warnings():
        # The issue asks for these builders explicitly (beside the FreshnessPolicy the assets
        # carry, which only the UI evaluates); the warnings would repeat on every load.
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        warnings.simplefilter("ignore", dg.BetaWarning)
        for window, window_keys in sorted(need_freshness.items()):
            checks.extend(
                dg.build_last_update_freshness_checks(
                    assets=window_keys, lower_bound_delta=window, severity=WARN
                )
            )
        if need_schema:
            checks.extend(dg.build_column_schema_change_checks(assets=need_schema, severity=WARN))
    if need_volume:
        checks.append(volume_anomaly_checks(need_volume))
    for asset, (markers, build) in SHARE_CHECKS.items():
        key = dg.AssetKey(asset)
        if key in graph.materializable_asset_keys and not _has_check(
            {check_key.name for check_key in graph.get(key).check_keys}, *markers
        ):
            checks.append(build())
    return checks
