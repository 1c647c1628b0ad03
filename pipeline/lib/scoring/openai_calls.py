"""One pair's call to an OpenAI-compatible chat completions API: the run's budget, retries
with backoff honouring Retry-After, the switch that stops calling once the API looks down, and
validation of the structured output."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openai
from pydantic import BaseModel, ValidationError
from tenacity import retry_if_exception_type

from pipeline.lib import retries
from pipeline.lib.http import redact, retry_after_seconds

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
# Retried: a status above that `_request` lets through, a timeout or a connection failure.
TRANSIENT_ERRORS = (openai.APIStatusError, openai.APIConnectionError)


def _problem(error: BaseException) -> str:
    """A transient API error for logs and messages, without its body."""
    if isinstance(error, openai.APIStatusError):
        return f"HTTP {error.status_code}"
    return type(error).__name__


@dataclass
class Budget:
    """Per-run limits, shared by the worker threads. A request is reserved before it is sent
    (with a token estimate), so concurrent workers cannot overshoot the request limit."""

    max_requests: int
    max_tokens: int
    requests: int = 0
    tokens: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reserve(self, estimated_tokens: int) -> bool:
        with self._lock:
            if self.requests >= self.max_requests:
                return False
            if self.tokens + estimated_tokens > self.max_tokens:
                return False
            self.requests += 1
            return True

    def spend_tokens(self, tokens: int) -> None:
        with self._lock:
            self.tokens += tokens


class BudgetSpent(Exception):
    pass


class ApiUnavailable(Exception):
    pass


class InvalidOutput(Exception):
    pass


class RequestRejected(Exception):
    pass


@dataclass
class CallOutcome:
    """What happened to one pair: a validated output, a recorded failure (invalid/refused
    twice), or a fallback (budget, API down). `responses` feed usage accounting."""

    output: dict | None = None
    failure: str | None = None
    fallback: str | None = None
    responses: list[Any] = field(default_factory=list)
    requests: int = 0


class ApiCaller:
    """The calls of one scorer, shared by its worker threads."""

    def __init__(
        self,
        create: Callable[..., Any],
        *,
        model: str,
        budget: Budget,
        max_attempts: int,
        backoff_s: float,
        max_backoff_s: float,
        unavailable_after: int,
        max_completion_tokens: int,
        sleep: Callable[[float], None],
    ):
        self.create = create
        self.model = model
        self.budget = budget
        self.max_attempts = max(1, max_attempts)
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.unavailable_after = unavailable_after
        self.max_completion_tokens = max_completion_tokens
        self.sleep = sleep
        self._down = threading.Event()
        self._consecutive_unavailable = 0
        self._down_lock = threading.Lock()
        self._down_reason = ""

    @property
    def down(self) -> bool:
        return self._down.is_set()

    def _estimate_tokens(self, messages: list[dict]) -> int:
        characters = sum(len(m["content"]) for m in messages)
        return characters // 3 + self.max_completion_tokens

    def call(
        self, messages: list[dict], response_format: dict, schema: type[BaseModel]
    ) -> CallOutcome:
        """One pair: up to two valid HTTP answers (the second only when the first was invalid
        or refused), each with up to `max_attempts` tries on transient errors."""
        outcome = CallOutcome()
        last_problem = ""
        for _ in range(2):
            try:
                response = self._request(messages, response_format, outcome)
            except BudgetSpent as error:
                outcome.fallback = str(error)
                return outcome
            except ApiUnavailable as error:
                outcome.fallback = str(error)
                return outcome
            except RequestRejected as error:
                outcome.failure = f"request rejected: {error}"
                return outcome
            outcome.responses.append(response)
            try:
                outcome.output = self._validate(response, schema)
                return outcome
            except InvalidOutput as error:
                last_problem = str(error)
        outcome.failure = last_problem
        return outcome

    def _request(self, messages: list[dict], response_format: dict, outcome: CallOutcome):
        estimate = self._estimate_tokens(messages)

        def attempt():
            if self._down.is_set():
                raise ApiUnavailable(f"AI API unavailable: {self._down_reason}")
            if not self.budget.reserve(estimate):
                raise BudgetSpent("AI budget for this run spent")
            outcome.requests += 1
            try:
                response = self.create(
                    model=self.model,
                    messages=messages,
                    response_format=response_format,
                    temperature=0,
                    max_tokens=self.max_completion_tokens,
                )
            except openai.APIStatusError as error:
                if error.status_code in (400, 413, 422):
                    # This request is wrong (too long, rejected content); others may be fine.
                    detail = f"HTTP {error.status_code}: {redact(str(error))[:200]}"
                    raise RequestRejected(detail) from None
                if error.status_code not in RETRYABLE_STATUS:
                    # 401/403/404: every request will fail the same way; the API is unusable.
                    # The body is left out: a 401 body echoes part of the key.
                    self._mark_down(f"HTTP {error.status_code} {type(error).__name__}")
                    raise ApiUnavailable(
                        f"AI API refused the request (HTTP {error.status_code})"
                    ) from None
                raise
            self._mark_up()
            usage = getattr(response, "usage", None)
            self.budget.spend_tokens(getattr(usage, "total_tokens", 0) or 0)
            return response

        attempts = retries.retrying(
            retry=retry_if_exception_type(TRANSIENT_ERRORS),
            attempts=self.max_attempts,
            first_s=self.backoff_s,
            max_s=self.max_backoff_s,
            jitter=(0.75, 1.0),
            wait_hint=retry_after_seconds,
            sleep=self.sleep,
            before_sleep=lambda state: log.info(
                "AI API %s; retrying in %.2fs",
                _problem(state.outcome.exception()),
                state.upcoming_sleep,
            ),
        )
        try:
            return attempts(attempt)
        except TRANSIENT_ERRORS as error:
            problem = f"{_problem(error)} after {self.max_attempts} attempts"
            self._note_unavailable(problem)
            raise ApiUnavailable(f"AI API unavailable ({problem})") from None

    def _mark_up(self) -> None:
        with self._down_lock:
            self._consecutive_unavailable = 0

    def _note_unavailable(self, reason: str) -> None:
        """After `unavailable_after` pairs in a row gave up on transient errors, stop calling:
        the API is down and every further call would only add minutes of backoff."""
        with self._down_lock:
            self._consecutive_unavailable += 1
            if self._consecutive_unavailable >= self.unavailable_after:
                self._mark_down(reason)

    def _mark_down(self, reason: str) -> None:
        if not self._down.is_set():
            self._down_reason = reason
            self._down.set()

    @staticmethod
    def _validate(response: Any, schema: type[BaseModel]) -> dict:
        try:
            message = response.choices[0].message
        except (AttributeError, IndexError, TypeError) as error:
            raise InvalidOutput("response has no message") from error
        refusal = getattr(message, "refusal", None)
        if refusal:
            raise InvalidOutput(f"model refused: {refusal[:200]}")
        content = message.content or ""
        try:
            return schema.model_validate(json.loads(content)).model_dump()
        except json.JSONDecodeError as error:
            raise InvalidOutput(f"output is not JSON: {content[:120]!r}") from error
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
            )
            raise InvalidOutput(f"output does not match the schema: {problems[:300]}") from error
