"""Unsubscribing from the signed token in an e-mail's link: appended to the recipient event store
per (user, kind), honoured by the next run, pending messages of that kind cancelled, forged
tokens refused."""

from __future__ import annotations

import datetime as dt
from email import message_from_string, policy
from urllib.parse import parse_qs, urlsplit

import pytest

from pipeline.lib import warehouse
from pipeline.lib.notify import digests
from pipeline.lib.notify.recipient_events import default_store
from pipeline.lib.notify.subscriptions import (
    InvalidUnsubscribeToken,
    is_unsubscribed,
    resubscribe_user,
    unsubscribe_with_token,
)
from pipeline.lib.notify.unsubscribe import make_token
from pipeline_tests.notify.conftest import NOW, add_news, as_of, fold, materialize, rows


def unsubscribe(config_dir, token: str):
    return unsubscribe_with_token(default_store(), config_dir, token)


def token_of(path) -> str:
    [eml] = sorted((path.parent / "outbox").glob("*.eml"))
    message = message_from_string(eml.read_text(), policy=policy.default)
    link = message["List-Unsubscribe"].split(",")[0].strip("<> ")
    return parse_qs(urlsplit(link).query)["token"][0]


def test_unsubscribe_from_the_link_stops_that_kind_only(instance, world, config_dir):
    add_news(world, "n1", "acme-blue", "acme", "BluePeak buys a rival", 0.9)
    selection = ["instant_alerts", "email_log"]
    assert materialize(selection, instance, as_of(NOW, "instant_alerts")).success
    user_id, kind, newly = unsubscribe(config_dir, token_of(world))
    assert (user_id, kind, newly) == ("bob@example.org", "instant_alert", True)
    assert unsubscribe(config_dir, token_of(world))[2] is False  # clicking twice is fine
    fold(world)
    later = NOW + dt.timedelta(minutes=10)
    add_news(world, "n2", "acme-blue", "acme", "BluePeak again", 0.9, scored_at=later)
    assert materialize(selection, instance, as_of(later, "instant_alerts")).success
    assert rows(world, "SELECT recipient FROM notify.email_log") == [("bob@example.org",)]
    # Deadline reminders are another kind: still on.
    with warehouse.connection(world) as conn:
        people = {p.user_id for p in digests.routing.recipients(conn, "deadline_reminder")}
        assert "bob@example.org" in people
    assert resubscribe_user(default_store(), config_dir, "bob@example.org", "instant_alert")


def test_forged_or_mangled_tokens_are_refused(world, config_dir):
    forged = make_token("someone-elses-secret", "bob@example.org", "instant_alert")
    for token in (forged, "garbage", ""):
        with pytest.raises(InvalidUnsubscribeToken, match="PIPELINE_UNSUBSCRIBE_SECRET"):
            unsubscribe(config_dir, token)
    fold(world)
    assert rows(world, "SELECT count(*) FROM notify.unsubscribes") == [(0,)]


def test_the_deployment_secret_signs_and_verifies(world, config_dir, monkeypatch):
    monkeypatch.setenv("PIPELINE_UNSUBSCRIBE_SECRET", "s3cret")
    token = make_token("s3cret", "alice@example.org", "daily_digest")
    assert unsubscribe(config_dir, token)[:2] == ("alice@example.org", "daily_digest")
    with pytest.raises(ValueError, match="cannot unsubscribe from 'operator_alert'"):
        unsubscribe(config_dir, make_token("s3cret", "alice@example.org", "operator_alert"))


@pytest.fixture
def cli(instance, world):
    """Bob got an instant alert; returns a runner of the `pipeline` command."""
    from click.testing import CliRunner

    from pipeline.cli import main

    add_news(world, "n1", "acme-blue", "acme", "BluePeak buys a rival", 0.9)
    assert materialize(
        ["instant_alerts", "email_log"], instance, as_of(NOW, "instant_alerts")
    ).success
    return lambda *args: CliRunner().invoke(main, list(args))


def test_the_cli_records_an_unsubscribe_from_a_link(cli, world):
    first = cli("unsubscribe", token_of(world))
    assert (
        first.exit_code == 0
        and first.output.strip() == "bob@example.org unsubscribed from instant_alert"
    )
    again = cli("unsubscribe", token_of(world))
    assert again.exit_code == 0 and again.output.strip().endswith("(already)")
    forged = cli("unsubscribe", "garbage")
    assert forged.exit_code == 2 and "invalid" in forged.output


def test_an_operator_resubscribes_a_user_from_the_cli(cli, world):
    assert cli("unsubscribe", token_of(world)).exit_code == 0
    back = cli("resubscribe", "bob@example.org", "instant_alert")
    assert (
        back.exit_code == 0
        and back.output.strip() == "bob@example.org receives instant_alert again"
    )
    with warehouse.connection(world) as conn:
        assert not is_unsubscribed(conn, "bob@example.org", "instant_alert")
    again = cli("resubscribe", "bob@example.org", "instant_alert")
    assert again.output.strip() == "bob@example.org was not unsubscribed from instant_alert"
    stranger = cli("resubscribe", "eve@example.org", "instant_alert")
    assert stranger.exit_code == 2 and "not a user" in stranger.output
    wrong_kind = cli("resubscribe", "bob@example.org", "operator_alert")
    assert wrong_kind.exit_code == 2 and "unknown kind" in wrong_kind.output
