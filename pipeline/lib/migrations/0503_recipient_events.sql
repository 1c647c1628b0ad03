-- What recipients did (pipeline serve appends it to the recipient event store; the fold-in
-- copies it here once per event id). email_log.opens / clicks and notify.unsubscribes /
-- preference_overrides are derived from these rows.
CREATE TABLE IF NOT EXISTS raw.recipient_events (
    event_id VARCHAR PRIMARY KEY,
    seq BIGINT NOT NULL,               -- position in the event store (the fold-in's cursor)
    action VARCHAR NOT NULL,           -- open | click | unsubscribe | resubscribe | preferences
    user_id VARCHAR,
    kind VARCHAR,
    message_id VARCHAR,
    detail JSON,
    recorded_at TIMESTAMPTZ NOT NULL,
    folded_at TIMESTAMPTZ NOT NULL
);
