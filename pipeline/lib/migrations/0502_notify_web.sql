-- Notify, web service (`pipeline serve`): open and click tracking counted per message, the
-- same per day in the stats, and preferences people change on the preferences page, kept as
-- an override layer over data/config/users.yaml (which stays the operator's source).

ALTER TABLE notify.email_log ADD COLUMN IF NOT EXISTS opens INTEGER DEFAULT 0;   -- pixel loads
ALTER TABLE notify.email_log ADD COLUMN IF NOT EXISTS clicks INTEGER DEFAULT 0;  -- signed redirects followed
ALTER TABLE notify.email_log ADD COLUMN IF NOT EXISTS first_opened_at TIMESTAMPTZ;
ALTER TABLE notify.email_log ADD COLUMN IF NOT EXISTS first_clicked_at TIMESTAMPTZ;

ALTER TABLE notify.notification_stats ADD COLUMN IF NOT EXISTS opened BIGINT DEFAULT 0;   -- messages opened at least once
ALTER TABLE notify.notification_stats ADD COLUMN IF NOT EXISTS clicked BIGINT DEFAULT 0;  -- messages with at least one click
ALTER TABLE notify.notification_stats ADD COLUMN IF NOT EXISTS opens BIGINT DEFAULT 0;
ALTER TABLE notify.notification_stats ADD COLUMN IF NOT EXISTS clicks BIGINT DEFAULT 0;

-- One row per user who changed something on the preferences page. A NULL column means
-- "as users.yaml says"; `watchlists` is the user's whole list (JSON) when they edited it.
CREATE TABLE IF NOT EXISTS notify.preference_overrides (
    user_id VARCHAR PRIMARY KEY,
    threshold DOUBLE,
    categories VARCHAR[],
    frequency VARCHAR,
    digest_day VARCHAR,
    digest_hour INTEGER,
    timezone VARCHAR,
    watchlists JSON,
    updated_at TIMESTAMPTZ NOT NULL
);
