"""Scores: organisation × grant matches and client × article relevance, one daily partition at a
time (or a range, when the profile-change sensor re-matches one organisation)."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dagster as dg
import duckdb
import polars as pl
from pydantic import Field

from pipeline.defs.scoring.ai_resource import ScoringAIResource
from pipeline.defs.shared.metadata import table_metadata
from pipeline.defs.shared.partitions import daily_partitions
from pipeline.defs.shared.resources import WarehouseResource
from pipeline.lib.scoring import store
from pipeline.lib.scoring.inputs import (
    GrantInputs,
    NewsInputs,
    load_grant_inputs,
    load_news_inputs,
)
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


def _save(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    stats: ScoringStats,
    failures: list[dict],
    write: Callable[[duckdb.DuckDBPyConnection], object],
    *,
    partitions: tuple[dt.date, dt.date, str],
    notes: list[str],
    started_at: dt.datetime,
    order_by: str,
) -> dict:
    """Write the scores, the refused answers and the usage row; return the asset's metadata
    (the table's preview for these partitions and the scoring figures)."""
    asset = context.asset_key.path[-1]
    start, end, label = partitions
    with warehouse.get_connection() as conn:
        write(conn)
        store.record_failures(conn, context.run_id, failures, started_at)
        store.record_usage(
            conn,
            run_id=context.run_id,
            asset=asset,
            partition_key=label,
            stats=stats,
            started_at=started_at,
            finished_at=dt.datetime.now(dt.UTC),
        )
        metadata = table_metadata(
            conn,
            f"ai.{asset}",
            where_sql="partition_date BETWEEN ? AND ?",
            params=[start, end],
            order_by=order_by,
        )
    for note in notes:
        context.log.info(note)
    metadata |= stats.as_record()
    metadata |= {
        "model": stats.model or "",
        "prompt_version": stats.prompt_version or "",
        "fallback_share": round(stats.fallback_share, 4),
    }
    if messages := [*notes, *stats.messages]:
        metadata["notes"] = dg.MetadataValue.md("\n".join(f"- {m}" for m in messages))
    return metadata


@dataclass(frozen=True)
class _Scoring:
    """What one kind of score does between the shared steps of its asset."""

    load: Callable[..., Any]  # (conn, start, end, ids) -> inputs
    score: Callable[..., pl.DataFrame]  # (scorer, inputs, started_at) -> rows to write
    write: Callable[..., object]  # (conn, frame, start, end, ids)
    figures: Callable[[Any], dict]  # inputs -> the kind's own metadata
    order_by: str


def _score_grants(scorer, inputs: GrantInputs, started_at: dt.datetime) -> pl.DataFrame:
    pairs = [(org, grant) for org in inputs.orgs for grant in inputs.grants]
    scores = scorer.score_grants(pairs, today=started_at.date())
    return store.grant_match_frame(inputs, pairs, scores, started_at)


def _score_news(scorer, inputs: NewsInputs, started_at: dt.datetime) -> pl.DataFrame:
    return store.news_score_frame(inputs, scorer.score_news(inputs.pairs), started_at)


def _scoring_asset(name: str, ids_field: str, config_type, scoring: _Scoring, **asset_args):
    """A daily scoring asset: load its inputs, score them with no warehouse connection held
    (the scorer may wait on the network), then write scores, failures and usage."""

    @dg.asset(
        name=name,
        group_name="scoring",
        partitions_def=daily_partitions,
        automation_condition=dg.AutomationCondition.eager(),
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool="openai",
        kinds={"duckdb", "python"},
        **asset_args,
    )
    def _score(
        context: dg.AssetExecutionContext,
        config: config_type,
        warehouse: WarehouseResource,
        scoring_ai: ScoringAIResource,
    ) -> dg.MaterializeResult:
        start, end, label = _partition_bounds(context)
        ids = getattr(config, ids_field)
        started_at = dt.datetime.now(dt.UTC)
        with warehouse.get_connection() as conn:
            inputs = scoring.load(conn, start, end, ids)
        with scoring_ai.scorer(context, warehouse.backend) as scorer:
            frame = scoring.score(scorer, inputs, started_at)
        metadata = _save(
            context,
            warehouse,
            scorer.stats,
            scorer.failures,
            lambda conn: scoring.write(conn, frame, start, end, ids),
            partitions=(start, end, label),
            notes=inputs.notes,
            started_at=started_at,
            order_by=scoring.order_by,
        )
        return dg.MaterializeResult(metadata=metadata | scoring.figures(inputs))

    return _score


grant_matches = _scoring_asset(
    "grant_matches",
    "org_ids",
    GrantMatchConfig,
    _Scoring(
        load=load_grant_inputs,
        score=_score_grants,
        write=store.write_grant_matches,
        figures=lambda inputs: {"organizations": len(inputs.orgs), "grants": len(inputs.grants)},
        order_by="score DESC",
    ),
    deps=["grants", "organizations"],
    description="How well each grant fits each matchable organisation profile: score 0–1, "
    "confidence and short reasons (ai.grant_matches).",
)


news_scores = _scoring_asset(
    "news_scores",
    "client_ids",
    NewsScoreConfig,
    _Scoring(
        load=load_news_inputs,
        score=_score_news,
        write=store.write_news_scores,
        figures=lambda inputs: {"cross_tenant_skipped": inputs.cross_tenant_skipped},
        order_by="relevance DESC",
    ),
    deps=["client_news", "crm_clients"],
    description="Relevance 0–1, category, two-sentence summary and reason for each client's "
    "article (ai.news_scores).",
)


DISTRIBUTION_SQL = """
WITH scores AS (
    SELECT 'grant' AS kind, tenant_id, scorer, '' AS category, score, confidence
    FROM ai.grant_matches
    UNION ALL
    SELECT 'news', tenant_id, scorer, category, relevance, confidence FROM ai.news_scores
)
SELECT kind, tenant_id, scorer, category,
       least(9, floor(score * 10))::INTEGER AS bucket,
       least(9, floor(score * 10)) / 10.0 AS bucket_low,
       count(*) AS pairs, avg(score) AS mean_score, avg(confidence) AS mean_confidence,
       ?::TIMESTAMPTZ AS updated_at
FROM scores GROUP BY ALL ORDER BY ALL
"""


def _histogram(rows: list[tuple]) -> str:
    """A text bar chart of pairs per score bucket, per kind."""
    lines = []
    for kind in ("grant", "news"):
        counts = [0] * 10
        for row_kind, bucket, pairs in rows:
            if row_kind == kind:
                counts[bucket] += pairs
        peak = max(counts) or 1
        lines.append(f"**{kind}** ({sum(counts)} pairs)\n```")
        for bucket, count in enumerate(counts):
            bar = "#" * round(30 * count / peak)
            lines.append(f"{bucket / 10:.1f}-{(bucket + 1) / 10:.1f} {bar} {count}")
        lines.append("```")
    return "\n".join(lines)


@dg.asset(
    group_name="scoring",
    deps=[grant_matches, news_scores],
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"duckdb"},
    description="How grant-match and news scores are spread, per kind, tenant, scorer and "
    "category (analytics.ai_score_distribution): is the model scoring everything 0.5?",
)
def ai_score_distribution(warehouse: WarehouseResource) -> dg.MaterializeResult:
    now = dt.datetime.now(dt.UTC)
    with warehouse.get_connection() as conn:
        store.replace_distribution(conn, store.query_frame(conn, DISTRIBUTION_SQL, [now]))
        metadata = table_metadata(conn, "analytics.ai_score_distribution", order_by="kind, bucket")
        buckets = conn.execute(
            "SELECT kind, bucket, sum(pairs)::BIGINT FROM analytics.ai_score_distribution"
            " GROUP BY ALL"
        ).fetchall()
        shares = conn.execute(
            "SELECT kind, scorer, sum(pairs)::BIGINT, sum(pairs * mean_score) / sum(pairs)"
            " FROM analytics.ai_score_distribution GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    metadata["histogram"] = dg.MetadataValue.md(_histogram(buckets))
    for kind, scorer, pairs, mean in shares:
        metadata[f"{kind}_{scorer}_pairs"] = int(pairs)
        metadata[f"{kind}_{scorer}_mean_score"] = round(float(mean), 4)
    return dg.MaterializeResult(metadata=metadata)
