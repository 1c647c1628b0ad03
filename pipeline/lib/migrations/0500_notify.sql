-- Notify: users and their preferences (from data/config/users.yaml), watchlists, the e-mail
-- outbox/log (one row per message, recorded before it is sent), what each user has already
-- been sent, unsubscribes, and operator-alert dedup.
CREATE SCHEMA IF NOT EXISTS notify;

CREATE TABLE IF NOT EXISTS notify.users (
    user_id VARCHAR PRIMARY KEY,          -- the lower-cased e-mail address
    email VARCHAR NOT NULL,
    name VARCHAR,
    tenant_id VARCHAR NOT NULL,
    role VARCHAR NOT NULL,                -- account_manager | org_contact | operator | ...
    org_id VARCHAR,
    timezone VARCHAR NOT NULL,
    is_sample BOOLEAN NOT NULL DEFAULT false,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

CREATE TABLE IF NOT EXISTS notify.notification_preferences (
    user_id VARCHAR PRIMARY KEY,
    threshold DOUBLE NOT NULL,            -- 0..1: minimum score/relevance worth telling
    categories VARCHAR[],                 -- news categories; empty = all
    assigned_only BOOLEAN NOT NULL,       -- only clients this user owns in the CRM
    frequency VARCHAR NOT NULL,           -- instant | daily | weekly
    digest_day VARCHAR NOT NULL,          -- weekday of the weekly digest (mon..sun)
    digest_hour INTEGER NOT NULL,         -- local hour of the digest
    timezone VARCHAR NOT NULL,
    kinds VARCHAR[],                      -- which e-mail kinds the user wants
    is_sample BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE IF NOT EXISTS notify.watchlists (
    watchlist_id VARCHAR PRIMARY KEY,
    user_id VARCHAR NOT NULL,
    tenant_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    include_keywords VARCHAR[],
    exclude_keywords VARCHAR[],
    agencies VARCHAR[],
    eligibility VARCHAR[],
    amount_min DOUBLE,
    amount_max DOUBLE,
    is_sample BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE IF NOT EXISTS notify.email_log (
    message_id VARCHAR PRIMARY KEY,       -- deterministic: user + kind + item set / period
    recipient VARCHAR NOT NULL,
    user_id VARCHAR,
    tenant_id VARCHAR,
    kind VARCHAR NOT NULL,                -- instant_alert | daily_digest | weekly_digest | deadline_reminder | operator_alert
    period VARCHAR,                       -- digest period / alert key
    subject VARCHAR NOT NULL,
    item_keys VARCHAR[],
    item_count INTEGER NOT NULL DEFAULT 0,
    status VARCHAR NOT NULL,              -- pending | sending | sent | written | failed | uncertain
    transport VARCHAR,                    -- smtp | outbox
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error VARCHAR,
    next_attempt_at TIMESTAMPTZ,
    raw_message VARCHAR NOT NULL,         -- the rendered RFC 5322 message, resent verbatim
    eml_path VARCHAR,
    is_sample BOOLEAN NOT NULL DEFAULT false,
    created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    sent_at TIMESTAMPTZ
);

-- What each user has been told, per kind: "once per user and item", "new since the last digest".
CREATE TABLE IF NOT EXISTS notify.delivered_items (
    user_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    item_key VARCHAR NOT NULL,
    message_id VARCHAR NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (user_id, kind, item_key)
);

CREATE TABLE IF NOT EXISTS notify.unsubscribes (
    user_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    unsubscribed_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (user_id, kind)
);

CREATE TABLE IF NOT EXISTS notify.operator_alerts (
    alert_key VARCHAR PRIMARY KEY,
    last_sent_at TIMESTAMPTZ NOT NULL,
    last_message_id VARCHAR NOT NULL,
    times_sent INTEGER NOT NULL DEFAULT 1
);
