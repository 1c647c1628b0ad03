"""One retry policy, built on tenacity, for every call that waits out a passing failure:
provider HTTP requests, the AI API, the warehouse file lock and DuckLake commit conflicts."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from typing import Any

from tenacity import RetryCallState, Retrying, stop_after_attempt, stop_any, stop_before_delay
from tenacity.retry import retry_base


def retrying(
    *,
    retry: retry_base,
    first_s: float,
    attempts: int | None = None,
    within_s: float | None = None,
    max_s: float = math.inf,
    jitter: tuple[float, float] = (0.5, 1.0),
    wait_hint: Callable[[Any], float | None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    before_sleep: Callable[[RetryCallState], None] | None = None,
) -> Retrying:
    """Retry while `retry` accepts the outcome, for at most `attempts` tries and/or until the
    next wait would end more than `within_s` seconds after the first try.

    The wait doubles from `first_s` up to `max_s`, times a random factor drawn from `jitter` so
    that clients failing together do not retry together. When `wait_hint` reads a delay from the
    failure (the exception, or the result that was retried: an HTTP Retry-After), that delay is
    used unjittered, still capped at `max_s`. Tests pass a recording `sleep`.

    When the retries run out, the call ends with its last outcome: the exception is raised or
    the result returned, so a caller turns it into its own error exactly as it does an outcome
    that was never retried (tenacity's RetryError never reaches it)."""
    limits = []
    if attempts is not None:
        limits.append(stop_after_attempt(attempts))
    if within_s is not None:
        limits.append(stop_before_delay(within_s))

    def wait(state: RetryCallState) -> float:
        outcome = state.outcome
        hinted = None
        if wait_hint is not None and outcome is not None:
            hinted = wait_hint(outcome.exception() if outcome.failed else outcome.result())
        if hinted is not None:
            return min(max_s, hinted)
        return min(max_s, first_s * 2 ** (state.attempt_number - 1)) * random.uniform(*jitter)

    return Retrying(
        retry=retry,
        stop=stop_any(*limits),
        wait=wait,
        sleep=sleep,
        before_sleep=before_sleep,
        retry_error_callback=lambda state: state.outcome.result(),
    )
