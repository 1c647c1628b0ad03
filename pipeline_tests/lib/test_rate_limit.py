import datetime as dt

from pipeline.lib.rate_limit import DISCOVERY_RATE_LIMIT, SlidingWindowLimit

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def minutes_ago(*minutes: float) -> list[dt.datetime]:
    return [NOW - dt.timedelta(minutes=m) for m in minutes]


def test_discovery_limit_is_five_per_five_minutes():
    assert (DISCOVERY_RATE_LIMIT.max_runs, DISCOVERY_RATE_LIMIT.window) == (
        5,
        dt.timedelta(minutes=5),
    )


def test_room_left_counts_only_runs_inside_the_window():
    limit = DISCOVERY_RATE_LIMIT
    assert limit.remaining([], NOW) == 5
    assert limit.remaining(minutes_ago(1, 2, 3), NOW) == 2
    # Exactly five minutes old has left the window; runs "from the future" do not count.
    assert limit.remaining(minutes_ago(5, 6, 60, -1), NOW) == 5


def test_full_window_refuses_and_says_when_room_opens():
    limit = DISCOVERY_RATE_LIMIT
    created = minutes_ago(0.5, 1, 2, 3, 4.5)
    assert limit.remaining(created, NOW) == 0
    assert limit.next_allowed_at(created, NOW) == NOW + dt.timedelta(seconds=30)
    later = NOW + dt.timedelta(seconds=31)
    assert limit.remaining(created, later) == 1


def test_more_runs_than_the_limit_wait_for_the_right_one_to_expire():
    limit = SlidingWindowLimit(2, dt.timedelta(minutes=5))
    created = minutes_ago(1, 2, 4)
    # Three in the window, two allowed: room opens when the run from 2 minutes ago expires.
    assert limit.next_allowed_at(created, NOW) == NOW + dt.timedelta(minutes=3)
    assert limit.next_allowed_at(minutes_ago(1), NOW) == NOW
