"""Monitoring schedules from data/config/monitoring.yaml, re-read on every code-location load.
Broken entries are skipped and listed in the definitions metadata, the log and the
`monitoring_config` asset check; they never stop the code location from loading."""

import logging
from pathlib import Path

import dagster as dg

from pipeline.defs.news.jobs import news_fetch_job, news_run_selection
from pipeline.defs.news.providers import news_samples_dir
from pipeline.defs.shared.run_limits import discovery_run_allowed
from pipeline.lib.news.clients import load_clients_csv
from pipeline.lib.news.monitoring import MonitoringConfig, MonitoringEntry, load_monitoring
from pipeline.lib.rate_limit import DISCOVERY_RATE_LIMIT
from pipeline.lib.settings import schedule_cron, settings
from pipeline.lib.settings.providers import crm_is_an_api, crm_settings

log = logging.getLogger(__name__)


def monitoring_path():
    return settings().config_dir / "monitoring.yaml"


def csv_client_ids() -> set[str] | None:
    """Client ids when the CRM is a CSV (cheap to read at load time); None for Salesforce or
    HubSpot, whose ids the monitoring_config check validates against the warehouse instead."""
    if crm_is_an_api():
        return None
    path = crm_settings().clients_csv or str(news_samples_dir() / "clients.csv")
    try:
        clients, _ = load_clients_csv(Path(path), is_sample=False)
    except (OSError, ValueError) as error:
        log.warning("monitoring: cannot read clients from %s: %s", path, error)
        return None
    return {c.client_id for c in clients}


def load_config() -> MonitoringConfig:
    return load_monitoring(monitoring_path(), csv_client_ids())


def build_schedule(entry: MonitoringEntry) -> dg.ScheduleDefinition:
    run_config = {"ops": {"raw_news_events": {"config": entry.run_config_clients()}}}

    @dg.schedule(
        name=entry.schedule_name,
        cron_schedule=schedule_cron(entry.cron),
        job=news_fetch_job,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"monitoring.yaml line {entry.line}: {entry.schedule}",
        tags={"pipeline/monitoring_entry": entry.name},
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        if not discovery_run_allowed(context.instance):
            return dg.SkipReason(
                f"discovery rate limit: {DISCOVERY_RATE_LIMIT.max_runs} runs per "
                f"{DISCOVERY_RATE_LIMIT.window} already requested"
            )
        tick = context.scheduled_execution_time
        return dg.RunRequest(
            run_key=f"{entry.name}:{tick.isoformat()}",
            partition_key=tick.strftime("%Y-%m-%d"),
            run_config=run_config,
            asset_selection=news_run_selection(context.instance),
        )

    return _schedule


@dg.definitions
def monitoring_schedules() -> dg.Definitions:
    config = load_config()
    for error in config.errors:
        log.warning("monitoring: %s", error)
    schedules = [build_schedule(e) for e in config.entries if e.cron is not None]
    return dg.Definitions(
        schedules=schedules,
        metadata={
            "news/monitoring_file": str(config.path),
            "news/monitoring_errors": dg.MetadataValue.md(
                "\n".join(f"- {e}" for e in config.errors) or "none"
            ),
            "news/manual_entries": ", ".join(e.name for e in config.entries if e.cron is None)
            or "none",
        },
    )
