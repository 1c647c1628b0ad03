-- Grants domain: organisation profiles, one row per grant across sources, the source records
-- behind each grant, the changes between versions, and discovery trends.

-- Profiles from data/config/organizations.yaml; only matchable ones (completeness at or above
-- the threshold) are matched, the others list what they lack in `missing`.
CREATE TABLE core.organizations (
    org_id           VARCHAR PRIMARY KEY,
    tenant_id        VARCHAR NOT NULL,
    name             VARCHAR NOT NULL,
    mission          VARCHAR,
    focus_areas      VARCHAR[] NOT NULL DEFAULT [],
    keywords         VARCHAR[] NOT NULL DEFAULT [],
    eligibility_type VARCHAR,
    geography        VARCHAR,
    budget_min       DOUBLE,
    budget_max       DOUBLE,
    contact_email    VARCHAR,
    completeness     DOUBLE NOT NULL,           -- 0..1, weighted share of the profile filled in
    is_matchable     BOOLEAN NOT NULL,
    missing          VARCHAR[] NOT NULL DEFAULT [],
    profile_hash     VARCHAR NOT NULL,          -- what the score cache keys on
    is_sample        BOOLEAN NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);

-- One row per distinct grant, the newest version of it. grant_id is assigned when a grant is
-- first seen and kept when stronger keys (OpportunityID, OpportunityNumber) turn up later.
CREATE TABLE core.grants (
    grant_id           VARCHAR PRIMARY KEY,
    opportunity_id     VARCHAR,                 -- Grants.gov OpportunityID = Simpler legacy_opportunity_id
    opportunity_number VARCHAR,
    title_key          VARCHAR NOT NULL,        -- normalised title + agency: the last-resort identity
    title              VARCHAR NOT NULL,
    agency             VARCHAR,
    agency_code        VARCHAR,
    description        VARCHAR,
    eligibility        VARCHAR,                 -- applicant types in words, plus extra eligibility text
    category           VARCHAR,
    assistance_listings VARCHAR[] NOT NULL DEFAULT [],  -- CFDA / ALN numbers
    status             VARCHAR,                 -- forecasted | posted | closed | archived
    record_type        VARCHAR NOT NULL,        -- synopsis | forecast | feed_item
    posted_date        DATE,
    close_date         DATE,
    award_floor        DOUBLE,
    award_ceiling      DOUBLE,
    estimated_funding  DOUBLE,
    url                VARCHAR,
    provider           VARCHAR NOT NULL,        -- the source of the version kept
    providers          VARCHAR[] NOT NULL,      -- every source that has listed the grant
    source_updated_at  TIMESTAMPTZ,             -- when the source says the version changed
    content_hash       VARCHAR NOT NULL,        -- of the fields above: changes when the grant does
    is_sample          BOOLEAN NOT NULL,
    first_seen_at      TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    partition_date     DATE NOT NULL            -- partition of the version kept
);

-- Every source record and the grant it was resolved to.
CREATE TABLE core.grant_sources (
    provider       VARCHAR NOT NULL,
    source_id      VARCHAR NOT NULL,            -- the provider's own id for the record
    grant_id       VARCHAR NOT NULL,
    content_hash   VARCHAR NOT NULL,            -- of the normalised record last seen
    raw_event_id   VARCHAR,
    is_sample      BOOLEAN NOT NULL,
    first_seen_at  TIMESTAMPTZ NOT NULL,
    last_seen_at   TIMESTAMPTZ NOT NULL,
    partition_date DATE NOT NULL,               -- partition the record was first seen in
    PRIMARY KEY (provider, source_id)
);

-- What changed between two versions of a grant: read by notifications ("deadline moved").
CREATE TABLE core.grant_changes (
    grant_id       VARCHAR NOT NULL,
    field          VARCHAR NOT NULL,            -- close_date | award_ceiling | award_floor | ...
    old_value      VARCHAR,
    new_value      VARCHAR,
    to_hash        VARCHAR NOT NULL,            -- content_hash of the version that brought it
    provider       VARCHAR NOT NULL,
    is_sample      BOOLEAN NOT NULL,
    partition_date DATE NOT NULL,
    changed_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (grant_id, to_hash, field)
);

-- Grants discovered per day and source, with trailing 7- and 30-day sums.
CREATE TABLE analytics.discovery_trends (
    day            DATE NOT NULL,
    provider       VARCHAR NOT NULL,
    discovered     BIGINT NOT NULL,             -- grants first seen that day through this source
    records_seen   BIGINT NOT NULL,             -- source records first seen that day
    discovered_7d  BIGINT NOT NULL,
    discovered_30d BIGINT NOT NULL,
    is_sample      BOOLEAN NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (day, provider)
);
