-- How scores are spread: one row per (kind, tenant, scorer, category, score bucket).
CREATE TABLE IF NOT EXISTS analytics.ai_score_distribution (
    kind        VARCHAR NOT NULL,   -- grant | news
    tenant_id   VARCHAR NOT NULL,
    scorer      VARCHAR NOT NULL,   -- local | openai
    category    VARCHAR NOT NULL,   -- news category; '' for grants
    bucket      INTEGER NOT NULL,   -- 0..9: score in [bucket/10, (bucket+1)/10), 1.0 in 9
    bucket_low  DOUBLE NOT NULL,
    pairs       BIGINT NOT NULL,
    mean_score  DOUBLE NOT NULL,
    mean_confidence DOUBLE NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
