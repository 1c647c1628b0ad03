import httpx
import pytest
from tenacity import retry_if_exception_type, retry_if_result

from pipeline.lib import retries


class Flaky:
    """Fails with `error` (or returns `result`) `times` times, then returns "done"."""

    def __init__(self, times, error=None, result=None):
        self.times, self.error, self.result, self.calls = times, error, result, 0

    def __call__(self):
        self.calls += 1
        if self.calls <= self.times:
            if self.error:
                raise self.error
            return self.result
        return "done"


def test_waits_double_from_the_first_up_to_the_cap_with_jitter():
    waits = []
    attempts = retries.retrying(
        retry=retry_if_exception_type(OSError),
        attempts=6,
        first_s=1.0,
        max_s=4.0,
        jitter=(0.5, 1.0),
        sleep=waits.append,
    )
    assert attempts(Flaky(5, error=OSError("busy"))) == "done"
    for wait, base in zip(waits, [1, 2, 4, 4, 4], strict=True):
        assert base * 0.5 <= wait <= base


def test_a_hinted_wait_replaces_the_backoff_and_is_capped():
    waits = []
    attempts = retries.retrying(
        retry=retry_if_result(lambda value: value == "later"),
        attempts=3,
        first_s=1.0,
        max_s=30.0,
        wait_hint=lambda value: 120.0 if value == "later" else None,
        sleep=waits.append,
    )
    assert attempts(Flaky(2, result="later")) == "done"
    assert waits == [30.0, 30.0]


def test_the_last_outcome_is_what_the_caller_gets_when_attempts_run_out():
    attempts = retries.retrying(
        retry=retry_if_exception_type(httpx.TimeoutException)
        | retry_if_result(lambda value: value == "busy"),
        attempts=3,
        first_s=0.0,
        sleep=lambda s: None,
    )
    with pytest.raises(httpx.ReadTimeout, match="slow"):  # not tenacity's RetryError
        attempts(Flaky(5, error=httpx.ReadTimeout("slow")))
    flaky = Flaky(5, result="busy")
    assert attempts(flaky) == "busy" and flaky.calls == 3


def test_a_time_limit_stops_before_a_wait_that_would_pass_it():
    waits = []
    attempts = retries.retrying(
        retry=retry_if_exception_type(OSError),
        within_s=3.0,
        first_s=1.0,
        jitter=(1.0, 1.0),
        sleep=waits.append,
    )
    with pytest.raises(OSError):
        attempts(Flaky(100, error=OSError("locked")))
    # Nothing slept for real, so each wait is checked alone: 4 s would pass the 3 s limit.
    assert waits == [1.0, 2.0]
