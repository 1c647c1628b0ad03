CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS ai;
CREATE SCHEMA IF NOT EXISTS sales;
CREATE SCHEMA IF NOT EXISTS analytics;
CREATE SCHEMA IF NOT EXISTS notify;

-- Every fetched payload, once per (kind, provider, scope, content): re-fetching adds nothing.
CREATE TABLE raw.events (
    event_id       VARCHAR PRIMARY KEY,          -- sha256(kind|provider|scope|content_hash)
    kind           VARCHAR NOT NULL,             -- 'grant' | 'news'
    provider       VARCHAR NOT NULL,             -- e.g. grants_gov_extract, newsapi
    scope          VARCHAR NOT NULL DEFAULT '',  -- what the fetch was for: a client id, a feed
    tenant_id      VARCHAR,
    is_sample      BOOLEAN NOT NULL,
    content_hash   VARCHAR NOT NULL,
    payload        JSON NOT NULL,
    source_url     VARCHAR,
    partition_date DATE NOT NULL,
    fetched_at     TIMESTAMPTZ NOT NULL,
    status         VARCHAR NOT NULL DEFAULT 'new'  -- new | processed | invalid
);

-- One row per provider call: the input of source-error checks and health per source.
CREATE TABLE raw.source_fetches (
    fetch_id       VARCHAR PRIMARY KEY,
    kind           VARCHAR NOT NULL,
    provider       VARCHAR NOT NULL,
    scope          VARCHAR NOT NULL DEFAULT '',
    tenant_id      VARCHAR,
    is_sample      BOOLEAN NOT NULL,
    partition_date DATE NOT NULL,
    started_at     TIMESTAMPTZ NOT NULL,
    finished_at    TIMESTAMPTZ NOT NULL,
    status         VARCHAR NOT NULL,             -- ok | error
    items          INTEGER NOT NULL DEFAULT 0,
    new_items      INTEGER NOT NULL DEFAULT 0,
    error          VARCHAR
);
