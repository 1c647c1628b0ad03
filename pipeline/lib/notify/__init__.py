"""E-mail for the pipeline: settings, rendering, unsubscribe tokens, transports (SMTP or .eml
files) and the exactly-once outbox. No Dagster imports here."""
