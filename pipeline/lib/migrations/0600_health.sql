CREATE SCHEMA IF NOT EXISTS health;

-- The latest health_report: one row per asset, replaced on every report (history lives in the
-- asset's materialisation metadata, so re-running adds no rows).
CREATE TABLE health.asset_health (
    asset                VARCHAR PRIMARY KEY,
    group_name           VARCHAR,
    status               VARCHAR NOT NULL,  -- healthy | degraded | unhealthy | offline | unknown
    freshness            VARCHAR NOT NULL,  -- fresh | warn | stale | no_policy | never
    score                INTEGER NOT NULL,
    criticality          VARCHAR NOT NULL,
    checks_passed        INTEGER NOT NULL,
    checks_failed        INTEGER NOT NULL,
    reasons              VARCHAR,
    last_materialized_at TIMESTAMPTZ,
    reported_at          TIMESTAMPTZ NOT NULL
);

-- One row per provider (kind, provider) from raw.source_fetches.
CREATE TABLE health.source_health (
    kind          VARCHAR NOT NULL,
    provider      VARCHAR NOT NULL,
    status        VARCHAR NOT NULL,
    score         INTEGER NOT NULL,
    fetches       INTEGER NOT NULL,
    errors        INTEGER NOT NULL,
    error_share   DOUBLE NOT NULL,
    last_fetch_at TIMESTAMPTZ,
    last_error    VARCHAR,
    reported_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, provider)
);

-- The overall figures of the latest report (one row).
CREATE TABLE health.summary (
    report        VARCHAR PRIMARY KEY DEFAULT 'latest',
    score         INTEGER NOT NULL,
    exit_code     INTEGER NOT NULL,
    healthy       INTEGER NOT NULL,
    unknown       INTEGER NOT NULL,
    degraded      INTEGER NOT NULL,
    unhealthy     INTEGER NOT NULL,
    offline       INTEGER NOT NULL,
    reported_at   TIMESTAMPTZ NOT NULL
);
