-- Notify: delivery statistics per day and kind, and the high-water marks of incremental
-- message assets (instant alerts remember up to when scores were read).

-- Rebuilt from notify.email_log by the notification_stats asset. `day` is the UTC date the
-- message was recorded; `pending` counts messages waiting to be sent or being sent.
CREATE TABLE IF NOT EXISTS notify.notification_stats (
    day        DATE NOT NULL,
    kind       VARCHAR NOT NULL,
    is_sample  BOOLEAN NOT NULL,
    total      BIGINT NOT NULL,
    sent       BIGINT NOT NULL,      -- accepted by the SMTP server
    written    BIGINT NOT NULL,      -- written as .eml to PIPELINE_OUTBOX (no SMTP_HOST)
    failed     BIGINT NOT NULL,      -- permanent failure, or transient ones until max attempts
    pending    BIGINT NOT NULL,      -- pending or sending
    uncertain  BIGINT NOT NULL,      -- interrupted between sending and recording (not resent)
    cancelled  BIGINT NOT NULL,      -- never sent: the recipient unsubscribed before delivery
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (day, kind, is_sample)
);

CREATE TABLE IF NOT EXISTS notify.cursors (
    name       VARCHAR PRIMARY KEY,  -- e.g. instant_alerts
    value      TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
