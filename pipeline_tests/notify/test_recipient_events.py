"""The recipient event store: several real processes append at once and the fold-in counts every
event exactly once; `pipeline serve` takes traffic while a run commits to the warehouse; an
unsubscribe counts for the sender before any fold-in; the sensor asks for a fold-in."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import dagster as dg
import httpx
import pytest

from pipeline.defs.notify.recipient_events import recipient_events_sensor
from pipeline.lib import warehouse
from pipeline.lib.notify import links
from pipeline.lib.notify.recipient_events import OPEN, RecipientEvents, default_store
from pipeline.lib.settings import recipient_events_location
from pipeline.web.app import WebSettings
from pipeline_tests.notify.conftest import NOW, add_news, as_of, fold, materialize, rows
from pipeline_tests.notify.web_server import running_app

SECRET = "events-test-secret-0123456789abcdef"
MESSAGES = ("m-1", "m-2")
APPENDER = """
import sys
from pipeline.lib.notify.recipient_events import RecipientEvents
location, count = sys.argv[1], int(sys.argv[2])
store = RecipientEvents(location)
for i in range(count):
    store.append("open" if i % 2 else "click", message_id=("m-1", "m-2")[i % 4 // 2])
store.close()
"""


def log_messages(path: Path) -> None:
    with warehouse.connection(path) as conn:
        for message_id in MESSAGES:
            conn.execute(
                "INSERT INTO notify.email_log (message_id, recipient, user_id, kind, subject,"
                " status, raw_message) VALUES (?, 'bob@example.org', 'bob@example.org',"
                " 'instant_alert', 's', 'sent', 'raw')",
                [message_id],
            )


def append_from_processes(location: str, processes: int, each: int) -> None:
    """`processes` real Python processes appending `each` events at the same time."""
    started = [
        subprocess.Popen([sys.executable, "-c", APPENDER, location, str(each)])
        for _ in range(processes)
    ]
    assert [p.wait(timeout=120) for p in started] == [0] * processes


def counted(path: Path) -> list[tuple]:
    return rows(path, "SELECT message_id, opens, clicks FROM notify.email_log ORDER BY 1")


def test_processes_appending_at_once_lose_nothing_and_fold_once(world):
    log_messages(world)
    append_from_processes(str(recipient_events_location()), processes=4, each=200)
    report = fold(world)
    assert report.new_events == 800
    assert counted(world) == [("m-1", 200, 200), ("m-2", 200, 200)]
    assert fold(world).new_events == 0  # a second fold-in adds nothing
    assert counted(world) == [("m-1", 200, 200), ("m-2", 200, 200)]
    assert rows(world, "SELECT count(DISTINCT event_id) FROM raw.recipient_events") == [(800,)]


def test_the_postgresql_store_takes_concurrent_writers_too(world, postgres_url):
    log_messages(world)
    append_from_processes(postgres_url, processes=4, each=100)
    store = RecipientEvents(postgres_url)
    try:
        assert len(store.since(0)) == 400
        from pipeline.lib.notify.event_fold import fold_events
        from pipeline.lib.settings import settings

        assert fold_events(world, store, settings().config_dir).new_events == 400
    finally:
        store.close()
    assert counted(world) == [("m-1", 100, 100), ("m-2", 100, 100)]


def tracking_urls(base_url: str) -> list[str]:
    urls = []
    for message_id in MESSAGES:
        urls.append(
            f"{base_url}{links.OPEN_PATH}?m={message_id}"
            f"&s={links.open_signature(SECRET, message_id)}"
        )
    return urls


def test_a_run_commits_while_the_service_takes_requests(instance, world, config_dir):
    """The service never opens the warehouse, so a run and requests do not meet."""
    log_messages(world)
    add_news(world, "n1", "acme-blue", "acme", "BluePeak buys a rival", 0.9)
    config = WebSettings(events=recipient_events_location(), config_dir=config_dir, secret=SECRET)
    answers, stop = [], threading.Event()
    with running_app(config) as base_url:
        urls = tracking_urls(base_url)

        def client():
            with httpx.Client(timeout=30) as http:
                while not stop.is_set():
                    answers.append(http.get(urls[len(answers) % 2]).status_code)

        clients = [threading.Thread(target=client) for _ in range(4)]
        for thread in clients:
            thread.start()
        try:
            result = materialize(
                ["instant_alerts", "email_log"], instance, as_of(NOW, "instant_alerts")
            )
        finally:
            stop.set()
            for thread in clients:
                thread.join(timeout=60)
    assert result.success
    assert answers and set(answers) == {200}
    fold(world)
    opens = rows(world, "SELECT sum(opens) FROM notify.email_log WHERE message_id LIKE 'm-%'")
    assert opens == [(len(answers),)]


def test_an_unsubscribe_counts_for_the_sender_before_any_fold_in(instance, world, config_dir):
    from pipeline.lib.notify.subscriptions import unsubscribe_with_token
    from pipeline.lib.notify.unsubscribe import make_token

    add_news(world, "n1", "acme-blue", "acme", "BluePeak buys a rival", 0.9)
    assert materialize(["instant_alerts"], instance, as_of(NOW, "instant_alerts")).success
    assert rows(world, "SELECT status FROM notify.email_log") == [("pending",)]
    token = make_token(SECRET, "bob@example.org", "instant_alert")
    unsubscribe_with_token(default_store(), config_dir, token, secret=SECRET)
    # No fold-in: notify.unsubscribes does not know yet; the sender asks the event store.
    assert rows(world, "SELECT count(*) FROM notify.unsubscribes") == [(0,)]
    assert materialize(["email_log"], instance).success
    assert rows(world, "SELECT status, last_error FROM notify.email_log") == [
        ("cancelled", "recipient unsubscribed from instant_alert before it was sent")
    ]
    assert not list((world.parent / "outbox").glob("*.eml"))


def test_the_sensor_asks_for_a_fold_in_when_there_are_new_events(instance, world):
    context = dg.build_sensor_context(instance=instance)
    assert isinstance(recipient_events_sensor(context), dg.SkipReason)
    default_store().append(OPEN, message_id="m-1")
    context = dg.build_sensor_context(instance=instance, cursor=context.cursor)
    assert isinstance(recipient_events_sensor(context), dg.RunRequest)
    again = dg.build_sensor_context(instance=instance, cursor=context.cursor)
    assert isinstance(recipient_events_sensor(again), dg.SkipReason)


def test_unknown_actions_are_refused():
    with pytest.raises(ValueError, match="unknown recipient action"):
        RecipientEvents(":memory:").append("bounce", message_id="m-1")
