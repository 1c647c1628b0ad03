"""Daily digests for 10,000 users over 2,000 scored items (1,000 client-news scores and 1,000
grant matches), routed, built, rendered (HTML + text MIME) and recorded in the outbox, against
two baselines measured in the same process: rendering the same number of e-mails from one
fixed Email (no routing), and a bare Polars join of users x items on tenant and threshold.
Target: digests built and rendered in <= 30 s.

    .venv/bin/python pipeline_tests/benchmarks/bench_notify_digests.py [users] [items]

Five tenants, each with 20 organisations and 100 CRM clients; users get a random threshold,
categories (or all), assigned_only half the time, an organisation 70% of the time and a
watchlist 30% of the time, in one of five timezones.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from pipeline.lib import warehouse
from pipeline.lib.notify import digests, directory
from pipeline.lib.notify.mailer import MailSettings
from pipeline.lib.notify.outbox import record
from pipeline.lib.notify.render import Email, Item, Section
from pipeline.lib.notify.users import User, UsersFile, Watchlist
from pipeline.lib.scoring.categories import NEWS_CATEGORIES

TENANTS = [f"tenant-{t}" for t in range(5)]
ORGS_PER_TENANT = 20
CLIENTS_PER_TENANT = 100
TIMEZONES = ["UTC", "America/New_York", "Europe/London", "Asia/Tokyo", "Australia/Sydney"]
WORDS = ["youth", "stem", "health", "rural", "climate", "housing", "arts", "water", "literacy"]
NOW = dt.datetime(2026, 3, 2, 23, tzinfo=dt.UTC)


def make_users(n: int, rng: random.Random) -> list[User]:
    users = []
    for i in range(n):
        tenant = i % len(TENANTS)
        categories = [] if rng.random() < 0.4 else rng.sample(NEWS_CATEGORIES, 3)
        watchlists = []
        if rng.random() < 0.3:
            watchlists = [
                Watchlist(
                    name="saved search",
                    include_keywords=rng.sample(WORDS, 2),
                    exclude_keywords=["loan"],
                    amount_min=10_000,
                )
            ]
        users.append(
            User(
                email=f"user{i}@example.org",
                tenant=TENANTS[tenant],
                org_id=f"org-{tenant}-{rng.randrange(ORGS_PER_TENANT)}"
                if rng.random() < 0.7
                else None,
                timezone=rng.choice(TIMEZONES),
                threshold=round(rng.uniform(0.3, 0.8), 2),
                categories=categories,
                assigned_only=rng.random() < 0.5,
                frequency="daily",
                watchlists=watchlists,
            )
        )
    return users


def insert(conn, table: str, frame: pl.DataFrame) -> None:
    warehouse.register_frame(conn, "bench_rows", frame)
    try:
        conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM bench_rows")
    finally:
        warehouse.unregister_frame(conn, "bench_rows")


def seed(path: Path, users: list[User], items: int, rng: random.Random) -> None:
    news_rows, match_rows = items // 2, items - items // 2
    with warehouse.connection(path) as conn:
        users_file = UsersFile(path, users, True, "bench")
        directory.write_users(conn, users_file, NOW)
        directory.write_preferences(conn, users_file)
        directory.write_watchlists(conn, users_file)
        orgs = [(f"org-{t}-{o}", TENANTS[t]) for t in range(5) for o in range(ORGS_PER_TENANT)]
        insert(conn, "core.organizations", pl.DataFrame({
            "org_id": [o for o, _ in orgs], "tenant_id": [t for _, t in orgs],
            "name": [o for o, _ in orgs], "completeness": 1.0, "is_matchable": True,
            "profile_hash": "p", "is_sample": True, "updated_at": NOW,
        }))  # fmt: skip
        owners = {t: [u.email for u in users if u.tenant == t] for t in TENANTS}
        clients = [
            (f"c-{t}-{c}", TENANTS[t], rng.choice(owners[TENANTS[t]]))
            for t in range(5)
            for c in range(CLIENTS_PER_TENANT)
        ]
        insert(conn, "core.crm_clients", pl.DataFrame({
            "client_id": [c for c, _, _ in clients], "tenant_id": [t for _, t, _ in clients],
            "name": [c for c, _, _ in clients], "owner_email": [o for _, _, o in clients],
            "provider": "csv", "is_sample": True, "synced_at": NOW,
        }))  # fmt: skip
        picked = [clients[rng.randrange(len(clients))] for _ in range(news_rows)]
        news = pl.DataFrame({
            "client_id": [c for c, _, _ in picked], "tenant_id": [t for _, t, _ in picked],
            "article_id": [f"a{i:031d}" for i in range(news_rows)],
            "title": [f"Client story {i} about {rng.choice(WORDS)}" for i in range(news_rows)],
            "url": [f"https://news.example/{i}" for i in range(news_rows)],
            "published_at": [NOW - dt.timedelta(minutes=rng.randrange(1440))
                             for _ in range(news_rows)],
        })  # fmt: skip
        insert(conn, "core.client_news", news.with_columns(
            canonical_url=pl.col("url"), content_hash=pl.col("article_id"), simhash=0,
            provider=pl.lit("rss"), is_sample=True, partition_date=NOW.date()))  # fmt: skip
        insert(conn, "ai.news_scores", news.select("client_id", "article_id", "tenant_id").with_columns(
            relevance=pl.Series([rng.random() for _ in range(news_rows)]),
            category=pl.Series([rng.choice(NEWS_CATEGORIES) for _ in range(news_rows)]),
            summary=pl.lit("Two sentences of summary. The second one."), reason=pl.lit("r"),
            confidence=0.8, scorer=pl.lit("local"), lexical_score=0.5, is_sample=True,
            partition_date=NOW.date(), scored_at=NOW - dt.timedelta(hours=1)))  # fmt: skip
        grant_count = match_rows // 2
        grants = pl.DataFrame({
            "grant_id": [f"G{i}" for i in range(grant_count)],
            "title": [f"{rng.choice(WORDS).title()} and {rng.choice(WORDS)} programme {i}"
                      for i in range(grant_count)],
            "description": [" ".join(rng.sample(WORDS, 4)) for _ in range(grant_count)],
            "agency": [rng.choice(["HHS", "Department of Education", "EPA"])
                       for _ in range(grant_count)],
            "close_date": [NOW.date() + dt.timedelta(days=rng.randrange(3, 120))
                           for _ in range(grant_count)],
            "award_floor": 10_000.0, "award_ceiling": 500_000.0,
        })  # fmt: skip
        insert(conn, "core.grants", grants.with_columns(
            title_key=pl.col("title"), record_type=pl.lit("synopsis"), status=pl.lit("posted"),
            provider=pl.lit("test"), providers=pl.lit(["test"]), content_hash=pl.col("grant_id"),
            url=pl.lit("https://grants.example/g"), is_sample=True, first_seen_at=NOW,
            updated_at=NOW, partition_date=NOW.date()))  # fmt: skip
        pairs = {
            (rng.choice(orgs), f"G{rng.randrange(grant_count)}") for _ in range(match_rows * 2)
        }
        pairs = sorted(pairs)[:match_rows]
        insert(conn, "ai.grant_matches", pl.DataFrame({
            "org_id": [o for (o, _), _ in pairs], "tenant_id": [t for (_, t), _ in pairs],
            "grant_id": [g for _, g in pairs],
            "score": [rng.random() for _ in pairs], "confidence": 0.8,
            "reasons": [["matches the mission", "award size fits"]] * len(pairs),
            "scorer": "local", "lexical_score": 0.5, "is_sample": True,
            "partition_date": NOW.date(), "scored_at": NOW - dt.timedelta(hours=2),
        }))  # fmt: skip
        insert(conn, "core.grant_changes", pl.DataFrame({
            "grant_id": [f"G{i}" for i in range(0, grant_count, 10)], "field": "close_date",
            "old_value": str(NOW.date()), "new_value": str(NOW.date() + dt.timedelta(days=30)),
            "to_hash": "v2", "provider": "test", "is_sample": True,
            "partition_date": NOW.date(), "changed_at": NOW - dt.timedelta(hours=3),
        }))  # fmt: skip


def baseline_render(mail: MailSettings, count: int) -> float:
    """The rendering floor: `count` e-mails from one fixed Email, no routing."""
    items = tuple(
        Item(title=f"Item {i}", url="https://x.example/", score=0.5, details=("a", "b"))
        for i in range(10)
    )
    email = Email(
        kind="daily_digest",
        recipient="someone@example.org",
        subject="fixed",
        heading="fixed",
        sections=(Section("Grant matches", items, 3), Section("Client news", items, 7)),
    )
    started = time.perf_counter()
    for i in range(count):
        mail.compose(email, identity=(str(i),), user_id=f"user{i}@example.org", date=NOW)
    return time.perf_counter() - started


def baseline_join(path: Path) -> tuple[float, int]:
    """The routing floor: a bare Polars join of users x news items on tenant and threshold."""
    with warehouse.connection(path, read_only=True) as conn:
        users = conn.sql(
            "SELECT u.user_id, u.tenant_id, p.threshold FROM notify.users u"
            " JOIN notify.notification_preferences p USING (user_id)"
        ).pl()
        items = conn.sql("SELECT tenant_id, article_id, relevance FROM ai.news_scores").pl()
    started = time.perf_counter()
    pairs = (
        users.lazy()
        .join(items.lazy(), on="tenant_id")
        .filter(pl.col("relevance") >= pl.col("threshold"))
        .collect()
    )
    return time.perf_counter() - started, pairs.height


def main(n_users: int = 10_000, n_items: int = 2_000) -> None:
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "warehouse.duckdb"
        t0 = time.perf_counter()
        seed(path, make_users(n_users, rng), n_items, rng)
        print(f"seeded {n_users:,} users and {n_items:,} scored items in "
              f"{time.perf_counter() - t0:.1f}s")  # fmt: skip
        mail = MailSettings.from_env(Path(tmp) / "outbox", {})

        started = time.perf_counter()
        with warehouse.connection(path) as conn:
            plan = digests.plan_digests(conn, "daily_digest", NOW, due_now_only=False)
        routed = time.perf_counter()
        messages = digests.compose(mail, plan.emails, NOW)
        rendered = time.perf_counter()
        with warehouse.connection(path) as conn:
            recorded = record(conn, messages, NOW)
        done = time.perf_counter()

        build_and_render = rendered - started
        render_floor = baseline_render(mail, len(messages))
        join_floor, pairs = baseline_join(path)
        items_per_mail = sum(len(m.item_keys) for m in messages) / max(len(messages), 1)
        print(f"routed + built {len(plan.emails):,} digests ({plan.routed:,} user-item rows, "
              f"{items_per_mail:.1f} items per digest): {routed - started:.2f}s")  # fmt: skip
        print(f"rendered {len(messages):,} MIME messages (HTML + text): {rendered - routed:.2f}s")
        print(f"recorded {len(recorded):,} in the outbox (email_log + delivered_items): "
              f"{done - rendered:.2f}s")  # fmt: skip
        print(f"digests built and rendered: {build_and_render:.2f}s (target <= 30s); "
              f"with recording: {done - started:.2f}s")  # fmt: skip
        print(f"baseline: {len(messages):,} fixed e-mails rendered in {render_floor:.2f}s "
              f"-> ratio {build_and_render / render_floor:.1f}x")  # fmt: skip
        print(f"baseline: bare Polars users x news join ({pairs:,} pairs) in {join_floor:.2f}s "
              f"-> ratio {(routed - started) / max(join_floor, 1e-9):.1f}x for routing")  # fmt: skip
        if build_and_render > 30:
            sys.exit(f"too slow: {build_and_render:.1f}s > 30s")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
