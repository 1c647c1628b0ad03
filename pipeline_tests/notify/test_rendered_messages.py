"""Rendered messages are byte-for-byte what recipients got before: every kind of user e-mail
built from one fixed world (non-ASCII subjects and titles, hostile markup, a non-http link,
copies of one story, watchlists, updates and deadlines) is compared with the reviewed .eml files
in pipeline_tests/notify/golden/. Speed work on rendering must not change a single byte."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from pipeline.lib import warehouse
from pipeline.lib.notify import digests
from pipeline.lib.notify.mailer import MailSettings
from pipeline_tests.notify.conftest import NOW, TODAY, add_grant, add_match, add_news, insert

GOLDEN = Path(__file__).parent / "golden"
MAIL_ENV = {
    "PIPELINE_UNSUBSCRIBE_SECRET": "golden-test-secret-0123456789abcdef",
    "PIPELINE_PUBLIC_URL": "https://mail.example.org/pipeline",
    "SMTP_FROM_NAME": "Grants · News",
}


def seed_items(path: Path) -> None:
    known = NOW - dt.timedelta(days=10)
    add_grant(path, "G1", "Youth STEM after-school programme", agency="HHS",
              description="STEM clubs", close_date=TODAY + dt.timedelta(days=7),
              award_floor=10_000.0, award_ceiling=250_000.0, first_seen_at=known)  # fmt: skip
    add_match(path, "org-acme", "G1", "acme", 0.82, reasons=["fits the mission", "award fits"],
              scored_at=known)  # fmt: skip
    add_grant(path, "G2", "Bourse d’études — Éducation «STEM» pour l’été", agency="Ministère",
              description="STEM après l’école", close_date=TODAY + dt.timedelta(days=40),
              award_ceiling=50_000.0)  # fmt: skip
    add_grant(path, "G3", "Rural <b>health</b> & clinics", url="javascript:alert(1)",
              close_date=TODAY + dt.timedelta(days=2), award_floor=5_000.0)  # fmt: skip
    add_match(path, "org-globex", "G3", "globex", 0.64)
    change = {"grant_id": "G1", "to_hash": "v2"}
    insert(path, "core.grant_changes", [
        {**change, "field": "close_date", "old_value": str(TODAY + dt.timedelta(days=3)),
         "new_value": str(TODAY + dt.timedelta(days=7))},
        {**change, "field": "award_ceiling", "old_value": "100000", "new_value": "250000"},
    ])  # fmt: skip
    story = "Northwind raises €5 M — Series B led by Ørsted"
    article = {"article_id": "n1", "client_id": "acme-north", "tenant_id": "acme"}
    insert(path, "core.client_news", [{**article, "title": story,
           "url": "https://news.example/northwind?a=1&b=2"}])  # fmt: skip
    insert(path, "ai.news_scores", [{**article, "relevance": 0.91, "category": "m_and_a",
            "summary": f"{story}. The round values the company at €40 M."}])  # fmt: skip
    add_news(path, "n2", "acme-blue", "acme", f"{story} (Reuters)", 0.88, category="m_and_a",
             url="https://news.example/northwind?a=1&b=2")  # fmt: skip
    add_news(path, "n3", "acme-north", "acme", "Evil <script>x</script>\r\nBcc: v@example.org",
             0.75, category="funding", url="https://evil.example/?q=<1>")  # fmt: skip
    for i in range(12):
        add_news(path, f"l{i:02d}", "globex-lumen", "globex", f"Lumen update {i}",
                 0.5 + i / 50, category="partnership")  # fmt: skip


def rendered(path: Path) -> dict[str, str]:
    mail = MailSettings.from_env(path.parent / "outbox", MAIL_ENV)
    with warehouse.connection(path) as conn:
        plans = [
            digests.plan_digests(conn, "daily_digest", NOW, due_now_only=False),
            digests.plan_digests(conn, "weekly_digest", NOW, due_now_only=False),
            digests.plan_instant_alerts(conn, NOW),
            digests.plan_deadline_reminders(conn, NOW, due_now_only=False),
        ]
    messages = {}
    for plan in plans:
        for message in digests.compose(mail, plan.emails, NOW):
            messages[f"{message.kind}-{message.recipient.partition('@')[0]}.eml"] = (
                message.raw_message
            )
    return messages


def test_rendered_messages_match_the_reviewed_files(world):
    seed_items(world)
    messages = rendered(world)
    assert len(messages) >= 6  # every kind, several recipients
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        for old in GOLDEN.glob("*.eml"):
            old.unlink()
        for name, raw in messages.items():
            (GOLDEN / name).write_bytes(raw.encode("utf-8"))
    stored = {p.name: p.read_bytes().decode("utf-8") for p in sorted(GOLDEN.glob("*.eml"))}
    assert sorted(messages) == sorted(stored)
    for name, raw in messages.items():
        assert raw == stored[name], (
            f"{name} differs from pipeline_tests/notify/golden/{name}. If the change is"
            " intended, regenerate and review the diff:\n    UPDATE_GOLDEN=1 .venv/bin/pytest"
            " pipeline_tests/notify/test_rendered_messages.py -p no:cacheprovider"
        )
