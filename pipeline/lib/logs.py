"""Logs that never carry a secret, as text or as JSON lines.

Redaction happens where records are made (a LogRecord factory), so every handler sees the
cleaned message: stderr, files, and Dagster's event log (dagster.yaml routes the `pipeline`
loggers there). A record is cleaned of credential-looking URL parts and headers
(`pipeline.lib.http.redact`) and of the value of every environment variable whose name says
it is a secret."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import sys
from collections.abc import Callable
from urllib.parse import urlsplit

from pipeline.lib.http import redact

LOG_FORMATS = ("text", "json")
SECRET_NAME = re.compile(r"(?i)(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|_PG_URL|DSN)")
MIN_SECRET_LENGTH = 6  # shorter values ("1", "true") would blank out ordinary words
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Attributes every LogRecord has; anything else was passed with `extra=` and is logged as a field.
_STANDARD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}


def secret_values() -> list[str]:
    """Values of environment variables whose names say they hold a secret (and the password
    inside any such URL), longest first."""
    values = set()
    for name, value in os.environ.items():
        if not SECRET_NAME.search(name):
            continue
        values.add(value)
        if "://" in value:
            values.add(urlsplit(value).password or "")
    return sorted((v for v in values if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def scrub(text: str) -> str:
    """The literal value of every secret environment variable, then `redact`."""
    for value in secret_values():
        if value in text:
            text = text.replace(value, "***")
    return redact(text)


def _scrub_value(value):
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_value(v) for v in value]
    return value


_installed_factory = None


def install_redaction() -> None:
    """Make every LogRecord created in this process carry a scrubbed message. Idempotent."""
    global _installed_factory
    current = logging.getLogRecordFactory()
    if current is _installed_factory:
        return
    previous = current

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is the caller's bug; leave the record alone
            return record
        record.msg, record.args = scrub(message), ()
        return record

    _installed_factory = factory
    logging.setLogRecordFactory(factory)


class RedactingTextFormatter(logging.Formatter):
    """The usual one-line text format; tracebacks are scrubbed too."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


# Dagster's run log records carry this attribute: the run, job, step and event they are about.
DAGSTER_META = "dagster_meta"
_DAGSTER_FIELDS = ("run_id", "job_name", "step_key", "orig_message")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, `extra=` fields and the
    traceback, all scrubbed. A Dagster run log record gives its run, job, step and event type
    as fields instead of its whole event."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        for name, value in vars(record).items():
            if name == DAGSTER_META and isinstance(value, dict):
                entry.update(_dagster_fields(value))
            elif name not in _STANDARD_ATTRIBUTES and not name.startswith("_"):
                entry[name] = _scrub_value(value if _is_jsonable(value) else repr(value))
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def _dagster_fields(meta: dict) -> dict:
    fields = {name: _scrub_value(meta[name]) for name in _DAGSTER_FIELDS if meta.get(name)}
    event = meta.get("dagster_event")
    if event is not None and getattr(event, "event_type_value", None):
        fields["event_type"] = event.event_type_value
    return fields


class JsonConsoleLogger(logging.Logger):
    """The logger class while JSON logs are on. Dagster builds its run console logger from the
    current logger class and then adds a coloured stderr handler to it: any stream handler
    added to a logger of this class writes JSON lines instead."""

    def addHandler(self, handler: logging.Handler) -> None:
        if isinstance(handler, logging.StreamHandler):
            handler.setFormatter(JsonFormatter())
        super().addHandler(handler)


def _is_jsonable(value) -> bool:
    return isinstance(value, str | int | float | bool | type(None) | list | dict | tuple)


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(level: int = logging.WARNING, log_format: str = "text") -> Callable[[], None]:
    """Root logging for a command-line process: one stderr handler in `log_format`
    ("text" or "json"), secrets redacted either way. Replaces only a handler it installed
    before, so handlers that others (pytest, Dagster) added stay. Returns a function that
    undoes it (the CLI calls it when the command ends, so in-process callers such as tests
    get their logging back)."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {LOG_FORMATS}, not {log_format!r}")
    install_redaction()
    handler = StderrHandler()
    # The level on the handler too: Dagster lowers the level of the loggers it manages (INFO in
    # dagster.yaml) and prints their records itself, so a record that reached this handler only
    # through propagation would be printed a second time.
    handler.setLevel(level)
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else RedactingTextFormatter(TEXT_FORMAT)
    )
    root = logging.getLogger()
    for existing in list(root.handlers):
        if isinstance(existing, StderrHandler):
            root.removeHandler(existing)
    previous_level = root.level
    previous_class = logging.getLoggerClass()
    root.addHandler(handler)
    root.setLevel(level)
    if log_format == "json":
        logging.setLoggerClass(JsonConsoleLogger)

    def restore() -> None:
        root.removeHandler(handler)
        root.setLevel(previous_level)
        logging.setLoggerClass(previous_class)

    return restore
