"""Checks for an asset no domain checks: ai_score_distribution has no primary key, and a
duplicated bucket or a mean outside 0..1 would mislead the charts built on it. ERROR (the
numbers are wrong) but not blocking: nothing downstream acts on it automatically.
"""

from pipeline.defs.shared.check_builders import range_check, unique_check

DISTRIBUTION = "analytics.ai_score_distribution"

ai_score_distribution_unique = unique_check(
    "ai_score_distribution",
    DISTRIBUTION,
    ["kind", "tenant_id", "scorer", "category", "bucket"],
    name="ai_score_distribution_unique",
)
ai_score_distribution_bucket = range_check(
    "ai_score_distribution", DISTRIBUTION, "bucket", minimum=0, maximum=9, allow_null=False
)
ai_score_distribution_mean_score = range_check(
    "ai_score_distribution", DISTRIBUTION, "mean_score", minimum=0, maximum=1, allow_null=False
)
ai_score_distribution_mean_confidence = range_check(
    "ai_score_distribution",
    DISTRIBUTION,
    "mean_confidence",
    minimum=0,
    maximum=1,
    allow_null=False,
)
