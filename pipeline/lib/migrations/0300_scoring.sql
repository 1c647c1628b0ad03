CREATE SCHEMA IF NOT EXISTS ai;

-- One row per (organisation, grant): how well the grant fits the organisation's profile.
-- Grants are global; the row carries the organisation's tenant.
CREATE TABLE IF NOT EXISTS ai.grant_matches (
    org_id         VARCHAR NOT NULL,
    grant_id       VARCHAR NOT NULL,
    tenant_id      VARCHAR NOT NULL,
    score          DOUBLE NOT NULL,          -- 0..1
    confidence     DOUBLE NOT NULL,          -- 0..1
    reasons        VARCHAR[] NOT NULL,       -- short, human-readable
    scorer         VARCHAR NOT NULL,         -- 'local' | 'openai'
    model          VARCHAR,                  -- e.g. gpt-4o-mini; 'bm25-rules-v1' for local
    lexical_score  DOUBLE NOT NULL,          -- the local prefilter's score, kept for comparison
    is_sample      BOOLEAN NOT NULL,
    cache_key      VARCHAR,                  -- ai.score_cache entry an openai score came from
    partition_date DATE NOT NULL,            -- the grant's partition
    scored_at      TIMESTAMPTZ NOT NULL
);

-- One row per (client, article): relevance, category and a short summary.
CREATE TABLE IF NOT EXISTS ai.news_scores (
    client_id      VARCHAR NOT NULL,
    article_id     VARCHAR NOT NULL,
    tenant_id      VARCHAR NOT NULL,
    relevance      DOUBLE NOT NULL,          -- 0..1
    category       VARCHAR NOT NULL,         -- see pipeline.lib.scoring.categories.NEWS_CATEGORIES
    summary        VARCHAR NOT NULL,
    reason         VARCHAR NOT NULL,
    confidence     DOUBLE NOT NULL,
    scorer         VARCHAR NOT NULL,
    model          VARCHAR,
    lexical_score  DOUBLE NOT NULL,
    is_sample      BOOLEAN NOT NULL,
    cache_key      VARCHAR,
    partition_date DATE NOT NULL,
    scored_at      TIMESTAMPTZ NOT NULL
);

-- Token usage and cost per scoring run and partition.
CREATE TABLE IF NOT EXISTS ai.usage (
    run_id             VARCHAR NOT NULL,
    asset              VARCHAR NOT NULL,     -- grant_matches | news_scores
    partition_key      VARCHAR NOT NULL,     -- a partition or 'start..end' for a range run
    configured_scorer  VARCHAR NOT NULL,     -- what was asked for: 'local' | 'openai'
    model              VARCHAR,
    prompt_version     VARCHAR,
    pairs              INTEGER NOT NULL,
    ai_candidates      INTEGER NOT NULL,     -- pairs the lexical prefilter sent to the model
    cache_hits         INTEGER NOT NULL,
    api_calls          INTEGER NOT NULL,     -- HTTP requests, retries included
    ai_scored          INTEGER NOT NULL,     -- pairs whose stored score came from the model
    failures           INTEGER NOT NULL,     -- invalid/refused output after one retry
    fallbacks          INTEGER NOT NULL,     -- candidates that got the local score instead
    prompt_tokens      BIGINT NOT NULL,
    completion_tokens  BIGINT NOT NULL,
    estimated_cost_usd DOUBLE NOT NULL,
    budget_exhausted   BOOLEAN NOT NULL,
    api_unavailable    BOOLEAN NOT NULL,
    message            VARCHAR,
    started_at         TIMESTAMPTZ NOT NULL,
    finished_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, asset, partition_key)
);

-- Validated model output by (item content hash, profile hash, model, prompt version):
-- an unchanged rerun makes no API call.
CREATE TABLE IF NOT EXISTS ai.score_cache (
    cache_key         VARCHAR PRIMARY KEY,
    kind              VARCHAR NOT NULL,      -- grant | news
    item_hash         VARCHAR NOT NULL,
    profile_hash      VARCHAR NOT NULL,
    model             VARCHAR NOT NULL,
    prompt_version    VARCHAR NOT NULL,
    output            JSON NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL
);

-- Model answers that stayed invalid or refused after one retry: recorded, never stored as scores.
CREATE TABLE IF NOT EXISTS ai.score_failures (
    run_id         VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL,
    subject_id     VARCHAR NOT NULL,         -- org_id or client_id
    item_id        VARCHAR NOT NULL,         -- grant_id or article_id
    tenant_id      VARCHAR NOT NULL,
    cache_key      VARCHAR NOT NULL,
    model          VARCHAR NOT NULL,
    prompt_version VARCHAR NOT NULL,
    error          VARCHAR NOT NULL,
    failed_at      TIMESTAMPTZ NOT NULL
);
