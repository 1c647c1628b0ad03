-- News domain: CRM clients and one row per article per client.
CREATE TABLE core.crm_clients (
    client_id   VARCHAR PRIMARY KEY,
    tenant_id   VARCHAR NOT NULL,
    name        VARCHAR NOT NULL,
    aliases     VARCHAR[] NOT NULL DEFAULT [],
    domain      VARCHAR,
    owner_email VARCHAR,
    provider    VARCHAR NOT NULL,               -- csv | salesforce | hubspot
    is_sample   BOOLEAN NOT NULL,
    feeds       VARCHAR[] NOT NULL DEFAULT [],  -- RSS/Atom feed URLs (or sample feed files)
    synced_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE core.client_news (
    client_id         VARCHAR NOT NULL,
    tenant_id         VARCHAR NOT NULL,
    article_id        VARCHAR NOT NULL,         -- sha256(canonical_url), first 32 hex chars
    url               VARCHAR NOT NULL,         -- as the provider sent it
    canonical_url     VARCHAR NOT NULL,
    title             VARCHAR NOT NULL,
    description       VARCHAR,
    source_name       VARCHAR,
    provider          VARCHAR NOT NULL,         -- newsapi | serper | google_cse | rss
    published_at      TIMESTAMPTZ,
    content_hash      VARCHAR NOT NULL,         -- sha256 of the normalised title + description
    simhash           UBIGINT NOT NULL,
    near_duplicate_of VARCHAR,                  -- article_id of the group's original, null for it
    is_sample         BOOLEAN NOT NULL,
    partition_date    DATE NOT NULL,
    raw_event_id      VARCHAR,
    fetched_at        TIMESTAMPTZ,
    PRIMARY KEY (client_id, article_id)
);
