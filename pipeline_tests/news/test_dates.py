import datetime as dt

import pytest

from pipeline.lib.news.dates import parse_published

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-19T14:05:00Z", dt.datetime(2026, 11, 19, 14, 5, tzinfo=dt.UTC)),
        ("2026-11-19T14:05:00+02:00", dt.datetime(2026, 11, 19, 12, 5, tzinfo=dt.UTC)),
        ("2016-06-03T07:38:00.000-07:00", dt.datetime(2016, 6, 3, 14, 38, tzinfo=dt.UTC)),
        ("2018-09-18 14:38:10", dt.datetime(2018, 9, 18, 14, 38, 10, tzinfo=dt.UTC)),
        ("Wed, 31 Jan 2018 07:26:05 GMT", dt.datetime(2018, 1, 31, 7, 26, 5, tzinfo=dt.UTC)),
        # Portuguese day and month names (UOL)
        ("Seg, 24 Set 2018 19:42:40 -0300", dt.datetime(2018, 9, 24, 22, 42, 40, tzinfo=dt.UTC)),
        ("15 hours ago", NOW - dt.timedelta(hours=15)),
        ("1 day ago", NOW - dt.timedelta(days=1)),
        ("an hour ago", NOW - dt.timedelta(hours=1)),
        ("3 mins ago", NOW - dt.timedelta(minutes=3)),
        ("2 weeks ago", NOW - dt.timedelta(weeks=2)),
        ("yesterday", NOW - dt.timedelta(days=1)),
        ("Nov 20, 2026", dt.datetime(2026, 11, 20, tzinfo=dt.UTC)),
        ("", None),
        (None, None),
        ("sometime soon", None),
    ],
)
def test_parse_published(text, expected):
    assert parse_published(text, now=NOW) == expected
