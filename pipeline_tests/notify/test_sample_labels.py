"""Sample data is labelled where a person reads it: e-mails (HTML and text), the dashboard (with
the e-mail delivery and engagement figures) and `pipeline search` output."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner

from pipeline.lib import warehouse
from pipeline.lib.notify import digests
from pipeline.lib.notify.mailer import MailSettings
from pipeline.lib.notify.render import Email, render_parts
from pipeline.lib.notify.stats import rebuild_stats
from pipeline.lib.sales import dashboard
from pipeline_tests.notify.conftest import NOW, add_grant, add_match, add_news, as_of, materialize


def test_sample_emails_carry_a_banner_in_both_parts():
    email = Email(kind="daily_digest", recipient="a@example.org", subject="s", heading="h")
    html, text = render_parts(email, is_sample=True)
    assert 'class="sample-banner"' in html and "SAMPLE DATA" in html
    assert text.startswith("*** SAMPLE DATA")
    html, text = render_parts(email, is_sample=False)
    assert "SAMPLE DATA" not in html and "SAMPLE DATA" not in text


def test_the_dashboard_shows_email_engagement_and_names_sample_sections(instance, world):
    add_news(world, "n1", "acme-blue", "acme", "BluePeak buys a rival", 0.9)
    assert materialize(["instant_alerts", "email_log"], instance, as_of(NOW, "instant_alerts"))
    with warehouse.connection(world) as conn:
        conn.execute("UPDATE notify.email_log SET opens = 2, is_sample = true")
        rebuild_stats(conn, NOW)
        data = dashboard.collect(conn)
    [row] = data.email
    assert (row["kind"], row["delivered"], row["opened"], row["clicked"]) == (
        "instant_alert",
        1,
        1,
        0,
    )
    page = dashboard.render(data, NOW)
    assert "E-mail delivery and engagement" in page and "100.0%" in page
    assert "SAMPLE DATA</b> in e-mail delivery: these rows come from the bundled samples" in page

    real = dashboard.render(dashboard.DashboardData(), dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert "SAMPLE DATA" not in real


def test_search_output_labels_sample_rows(world):
    from pipeline.cli import main

    add_grant(world, "g-sample", "Youth literacy grant", is_sample=True)
    add_grant(world, "g-real", "Youth literacy fund", is_sample=False)
    result = CliRunner().invoke(main, ["search", "youth", "literacy"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("SAMPLE DATA: 1 of these 2 results")
    hits = [line for line in result.output.splitlines() if line.lstrip()[:2] in ("1.", "2.")]
    [sample_line] = [line for line in hits if "[sample]" in line]
    assert "Youth literacy grant" in sample_line
    as_json = CliRunner().invoke(main, ["search", "youth", "--json"])
    assert '"is_sample": true' in as_json.output and '"is_sample": false' in as_json.output


def test_a_message_built_from_samples_says_so_in_its_subject(world):
    add_news(world, "n1", "acme-blue", "acme", "BluePeak buys a rival", 0.9, is_sample=True)
    with warehouse.connection(world) as conn:
        plan = digests.plan_instant_alerts(conn, NOW)
    mail = MailSettings.from_env(
        world.parent / "outbox",
        {"PIPELINE_UNSUBSCRIBE_SECRET": "sample-labels-test-secret-0123456789"},
    )
    [message] = digests.compose(mail, plan.emails, NOW)
    assert message.subject.startswith("[sample] ")
    assert "\nSubject: [sample] " in "\n" + message.raw_message


def test_once_real_items_exist_samples_stay_out_of_emails(world):
    add_grant(world, "SAMPLE-1", "Sample grant", is_sample=True)
    add_match(world, "org-acme", "SAMPLE-1", "acme", 0.9, is_sample=True)
    add_news(world, "s1", "acme-north", "acme", "Sample story", 0.9, is_sample=True)
    with warehouse.connection(world) as conn:
        [alone] = digests.plan_digests(conn, "daily_digest", NOW, due_now_only=False).emails
    assert set(alone.item_keys) == {"grant:SAMPLE-1", "news:acme-north:s1"}  # a demo's e-mail
    add_grant(world, "REAL-1", "Real grant")
    add_match(world, "org-acme", "REAL-1", "acme", 0.8)
    add_news(world, "r1", "acme-north", "acme", "Real story", 0.8)
    with warehouse.connection(world) as conn:
        [mixed] = digests.plan_digests(conn, "daily_digest", NOW, due_now_only=False).emails
    assert set(mixed.item_keys) == {"grant:REAL-1", "news:acme-north:r1"}
    assert not mixed.is_sample
