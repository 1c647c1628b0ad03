"""Structured logs: JSON lines, and no secret ever reaches a log line or the Dagster event log."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.lib.http import redact
from pipeline.lib.logs import configure_logging, install_redaction, scrub

SECRET = "sk-test-ThisMustNeverBeLogged-4242"
PG_PASSWORD = "pg-pass-987654"
OLD_WAREHOUSE_BACKUP = Path(__file__).parents[1] / "fixtures" / "ops" / "warehouse_v0001"


@pytest.fixture
def secrets(pipeline_env, monkeypatch: pytest.MonkeyPatch) -> None:
    # After pipeline_env, which clears provider variables.
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("DAGSTER_PG_URL", f"postgresql://dagster:{PG_PASSWORD}@db:5432/dagster")
    monkeypatch.setenv("PIPELINE_TIMEOUT_KEY", "1")  # too short to be treated as a secret


@pytest.fixture(autouse=True)
def restore_logging():
    """configure_logging changes the root logger for the whole process: undo it per test."""
    root = logging.getLogger()
    handlers, level, logger_class = list(root.handlers), root.level, logging.getLoggerClass()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.setLoggerClass(logger_class)


def test_redact_covers_url_passwords_auth_headers_and_keys():
    assert redact("postgresql://u:hunter22@db/x") == "postgresql://u:***@db/x"
    assert redact("Authorization: Bearer abcdefgh12345") == "Authorization: Bearer ***"
    assert redact("https://api/x?api_key=abc&page=2") == "https://api/x?api_key=***&page=2"
    assert "sk-***" in redact("using sk-proj-abcdefghijklmnop1234")
    assert redact("postgresql://db:5432/x") == "postgresql://db:5432/x"


def test_scrub_removes_secret_environment_values(secrets):
    text = scrub(f"key {SECRET} and {PG_PASSWORD} and timeout 1")
    assert SECRET not in text and PG_PASSWORD not in text
    assert text.endswith("timeout 1")


def test_json_logs_never_carry_a_secret(secrets, capsys):
    configure_logging(logging.INFO, "json")
    log = logging.getLogger("pipeline.test_logs")
    log.info("calling OpenAI with %s", SECRET)
    log.warning("database at %s", f"postgresql://dagster:{PG_PASSWORD}@db:5432/dagster")
    log.info("request sent", extra={"headers": {"Authorization": f"Bearer {SECRET}"}})
    try:
        raise RuntimeError(f"provider rejected key {SECRET}")
    except RuntimeError:
        log.exception("provider call failed")

    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]
    assert [e["level"] for e in entries] == ["INFO", "WARNING", "INFO", "ERROR"]
    assert all(
        e["logger"] == "pipeline.test_logs" and e["time"].endswith("+00:00") for e in entries
    )
    assert entries[2]["headers"] == {"Authorization": "Bearer ***"}
    assert "RuntimeError" in entries[3]["exception"]
    everything = "\n".join(lines)
    assert SECRET not in everything and PG_PASSWORD not in everything
    assert "***" in entries[0]["message"]


def test_text_logs_are_redacted_too(secrets, capsys):
    configure_logging(logging.INFO, "text")
    logging.getLogger("pipeline.test_logs").info("key=%s", SECRET)
    err = capsys.readouterr().err
    assert "pipeline.test_logs: key=***" in err and SECRET not in err


def test_cli_log_format_option_and_environment_variable(pipeline_env, tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_LOG_FORMAT", "json")
    result = CliRunner().invoke(main, ["-v", "restore", "--unverified", str(OLD_WAREHOUSE_BACKUP)])
    assert result.exit_code == 0, result.output
    logged = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert any("applied warehouse migration" in e["message"] for e in logged)

    bad = CliRunner().invoke(main, ["--log-format", "xml", "restore", str(tmp_path)])
    assert bad.exit_code != 0 and "xml" in bad.output


def test_secrets_stay_out_of_the_dagster_event_log(secrets, pipeline_env):
    install_redaction()

    @dg.asset
    def chatty(context) -> None:
        context.log.info(f"OpenAI key is {SECRET}")
        logging.getLogger("pipeline.chatty").warning("connecting with %s", PG_PASSWORD)

    overrides = {
        "python_logs": {"managed_python_loggers": ["pipeline"], "python_log_level": "INFO"}
    }
    with dg.instance_for_test(overrides=overrides) as instance:
        result = dg.materialize([chatty], instance=instance)
        messages = [record.user_message for record in instance.all_logs(result.run_id)]
    assert any("OpenAI key is ***" in m for m in messages)
    assert any("connecting with ***" in m for m in messages)
    assert not any(SECRET in m or PG_PASSWORD in m for m in messages)


@pytest.mark.slow
def test_json_mode_turns_dagster_run_logs_into_json_lines(secrets, pipeline_env):
    supermarket = Path(__file__).parents[1] / "fixtures" / "sales" / "supermarket_sales.csv"
    result = CliRunner().invoke(
        main,
        ["-v", "--log-format", "json", "ingest", str(supermarket), "--datasource", "m", "--wait"],
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line, Dagster's too
    run_lines = [e for e in entries if e["logger"] == "dagster"]
    assert run_lines and all(e["run_id"] and e["job_name"] for e in run_lines)
    assert SECRET not in result.stderr and PG_PASSWORD not in result.stderr
    # Text again afterwards: the JSON logger class does not outlive the command.
    assert logging.getLoggerClass() is logging.Logger


def test_an_info_line_of_a_logger_dagster_manages_is_not_printed_twice(capsys):
    """Dagster sets the loggers it manages to INFO and prints their records itself; the CLI's
    WARNING handler must not print the same records again (the doubled lock-wait lines)."""
    restore = configure_logging(logging.WARNING)
    managed = logging.getLogger("pipeline.lib.warehouse")
    previous = managed.level
    managed.setLevel(logging.INFO)
    try:
        managed.info("warehouse x is locked by another process; waiting up to 120s")
        managed.warning("a warning still shows")
    finally:
        managed.setLevel(previous)
        restore()
    err = capsys.readouterr().err
    assert "is locked by another process" not in err
    assert err.count("a warning still shows") == 1
