"""Scores: organisation × grant matches and client × article relevance, one daily partition at a
time (or a range, when the profile-change sensor re-matches one organisation)."""

import datetime as dt

import dagster as dg
from pydantic import Field

from pipeline.defs.scoring.ai_resource import ScoringAIResource
from pipeline.defs.shared.metadata import table_metadata
from pipeline.defs.shared.partitions import daily_partitions
from pipeline.defs.shared.resources import WarehouseResource
from pipeline.lib.scoring import store
from pipeline.lib.scoring.models import ScoringStats


class GrantMatchConfig(dg.Config):
    """Empty `org_ids` means every matchable organisation."""

    org_ids: list[str] = Field(default_factory=list)


class NewsScoreConfig(dg.Config):
    """Empty `client_ids` means every client."""

    client_ids: list[str] = Field(default_factory=list)


def _partition_bounds(context: dg.AssetExecutionContext) -> tuple[dt.date, dt.date, str]:
    keys = context.partition_keys
    start, end = dt.date.fromisoformat(keys[0]), dt.date.fromisoformat(keys[-1])
    label = keys[0] if len(keys) == 1 else f"{keys[0]}..{keys[-1]}"
    return start, end, label


def _stats_metadata(stats: ScoringStats, notes: list[str]) -> dict:
    metadata = {
        "configured_scorer": stats.configured_scorer,
        "model": stats.model or "",
        "pairs": stats.pairs,
        "ai_candidates": stats.ai_candidates,
        "cache_hits": stats.cache_hits,
        "api_calls": stats.api_calls,
        "ai_scored": stats.ai_scored,
        "failures": stats.failures,
        "fallbacks": stats.fallbacks,
        "fallback_share": round(stats.fallback_share, 4),
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.completion_tokens,
        "estimated_cost_usd": round(stats.estimated_cost_usd, 6),
        "budget_exhausted": stats.budget_exhausted,
    }
    messages = [*notes, *stats.messages]
    if messages:
        metadata["notes"] = dg.MetadataValue.md("\n".join(f"- {m}" for m in messages))
    return metadata


@dg.asset(
    group_name="scoring",
    partitions_def=daily_partitions,
    deps=["grants", "organizations"],
    automation_condition=dg.AutomationCondition.eager(),
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="openai",
    kinds={"duckdb", "python"},
    description="How well each grant fits each matchable organisation profile: score 0–1, "
    "confidence and short reasons (ai.grant_matches).",
)
def grant_matches(
    context: dg.AssetExecutionContext,
    config: GrantMatchConfig,
    warehouse: WarehouseResource,
    scoring_ai: ScoringAIResource,
) -> dg.MaterializeResult:
    start, end, label = _partition_bounds(context)
    started_at = dt.datetime.now(dt.UTC)
    with warehouse.get_connection() as conn:
        inputs = store.load_grant_inputs(conn, start, end, config.org_ids)
    pairs = [(org, grant) for org in inputs.orgs for grant in inputs.grants]
    # No warehouse connection is held while the scorer works: it may wait on the network.
    with scoring_ai.scorer(context, warehouse.database) as scorer:
        scores = scorer.score_grants(pairs, today=started_at.date())
    frame = store.grant_match_frame(inputs, pairs, scores, started_at)
    with warehouse.get_connection() as conn:
        store.write_grant_matches(conn, frame, start, end, config.org_ids)
        store.record_failures(conn, context.run_id, scorer.failures, started_at)
        store.record_usage(
            conn,
            run_id=context.run_id,
            asset="grant_matches",
            partition_key=label,
            stats=scorer.stats,
            started_at=started_at,
            finished_at=dt.datetime.now(dt.UTC),
        )
        metadata = table_metadata(
            conn,
            "ai.grant_matches",
            where_sql="partition_date BETWEEN ? AND ?",
            params=[start, end],
            order_by="score DESC",
        )
    for note in inputs.notes:
        context.log.info(note)
    metadata.update(_stats_metadata(scorer.stats, inputs.notes))
    metadata["organizations"] = len(inputs.orgs)
    metadata["grants"] = len(inputs.grants)
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    group_name="scoring",
    partitions_def=daily_partitions,
    deps=["client_news", "crm_clients"],
    automation_condition=dg.AutomationCondition.eager(),
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="openai",
    kinds={"duckdb", "python"},
    description="Relevance 0–1, category, two-sentence summary and reason for each client's "
    "article (ai.news_scores).",
)
def news_scores(
    context: dg.AssetExecutionContext,
    config: NewsScoreConfig,
    warehouse: WarehouseResource,
    scoring_ai: ScoringAIResource,
) -> dg.MaterializeResult:
    start, end, label = _partition_bounds(context)
    started_at = dt.datetime.now(dt.UTC)
    with warehouse.get_connection() as conn:
        inputs = store.load_news_inputs(conn, start, end, config.client_ids)
    with scoring_ai.scorer(context, warehouse.database) as scorer:
        scores = scorer.score_news(inputs.pairs)
    frame = store.news_score_frame(inputs, scores, started_at)
    with warehouse.get_connection() as conn:
        store.write_news_scores(conn, frame, start, end, config.client_ids)
        store.record_failures(conn, context.run_id, scorer.failures, started_at)
        store.record_usage(
            conn,
            run_id=context.run_id,
            asset="news_scores",
            partition_key=label,
            stats=scorer.stats,
            started_at=started_at,
            finished_at=dt.datetime.now(dt.UTC),
        )
        metadata = table_metadata(
            conn,
            "ai.news_scores",
            where_sql="partition_date BETWEEN ? AND ?",
            params=[start, end],
            order_by="relevance DESC",
        )
    for note in inputs.notes:
        context.log.info(note)
    metadata.update(_stats_metadata(scorer.stats, inputs.notes))
    metadata["cross_tenant_skipped"] = inputs.cross_tenant_skipped
    return dg.MaterializeResult(metadata=metadata)
