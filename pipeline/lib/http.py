"""One HTTP client for every provider: timeouts, retries with backoff that honour
Retry-After on 429 and 5xx, JSON checks, and errors that say what went wrong without
ever echoing a credential."""

from __future__ import annotations

import email.utils
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from tenacity import RetryCallState, retry_if_exception_type, retry_if_result

from pipeline.lib import retries

log = logging.getLogger(__name__)

FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_SECRET_PARAM = re.compile(r"(?i)((?:api[_-]?)?key|token|secret|password|apikey|cx)=[^&\s]+")


class ProviderError(RuntimeError):
    """A provider call that failed for good; `retryable` says whether a later run may succeed."""

    def __init__(
        self, provider: str, message: str, *, status: int | None = None, retryable: bool = False
    ):
        self.provider = provider
        self.status = status
        self.retryable = retryable
        super().__init__(f"{provider}: {message}")


_BEARER = re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+):[^@\s/]+@")
_OPENAI_KEY = re.compile(r"\bsk-[A-Za-z0-9_-]{16,}")


def redact(text: str) -> str:
    """Remove credentials from a URL or message: secret-looking query parameters, passwords in
    URLs (postgresql://user:***@host), Authorization header values and OpenAI-style keys."""
    text = _SECRET_PARAM.sub(lambda m: f"{m.group(1)}=***", text)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}:***@", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} ***", text)
    return _OPENAI_KEY.sub("sk-***", text)


def retry_after_seconds(outcome: object) -> float | None:
    """The wait a 429/5xx response asks for in Retry-After (seconds or a date), if any: the
    `wait_hint` of retries.retrying. `outcome` is the response, or an error carrying it
    (openai.APIStatusError, whose response is an httpx2.Response); anything else asks
    for nothing."""
    headers = getattr(getattr(outcome, "response", outcome), "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):  # unreadable: back off as if there were none
        return None
    return max(0.0, parsed.timestamp() - time.time())


def body_snippet(response: httpx.Response, limit: int = 200) -> str:
    text = response.text.strip()
    title = re.search(r"<title>(.*?)</title>", text, re.I | re.S)
    if title:
        text = f"HTML page '{title.group(1).strip()}'"
    text = re.sub(r"\s+", " ", text)
    return redact(text[:limit]) or "empty body"


class ProviderHTTP:
    """A small wrapper over httpx.Client for one provider."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 30.0,
        max_attempts: int = 4,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.provider = provider
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=base_url,
            headers={"User-Agent": "pipeline/0.1 (+dagster)", **(headers or {})},
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=True,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ProviderHTTP:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send a request, retrying timeouts, connection errors, 429 and 5xx; raise
        ProviderError once attempts run out or on any other 4xx."""
        return self._with_retries(lambda: self._client.request(method, url, **kwargs))

    def download(self, url: str, target: Path, chunk_size: int = 1 << 20) -> httpx.Response:
        """GET `url` into the file `target`, streamed (a 300 MB extract never sits in memory),
        with the same retries as request(). The file is complete when this returns; a failed
        attempt leaves no partial file behind. Returns the response (headers, status)."""
        partial = target.with_name(target.name + ".partial")

        def attempt() -> httpx.Response:
            with self._client.stream("GET", url) as response:
                if response.status_code >= 400:
                    response.read()  # the body names the error; it is small
                    return response
                try:
                    with partial.open("wb") as handle:
                        for chunk in response.iter_bytes(chunk_size):
                            handle.write(chunk)
                except BaseException:
                    partial.unlink(missing_ok=True)
                    raise
            partial.replace(target)
            return response

        return self._with_retries(attempt)

    def _with_retries(self, send: Callable[[], httpx.Response]) -> httpx.Response:
        attempts = retries.retrying(
            retry=retry_if_exception_type(httpx.TransportError)
            | retry_if_result(lambda response: response.status_code in RETRYABLE_STATUS),
            attempts=self.max_attempts,
            first_s=self.backoff_s,
            max_s=self.max_backoff_s,
            wait_hint=retry_after_seconds,
            sleep=self._sleep,
            before_sleep=self._log_retry,
        )
        try:
            response = attempts(send)
        except httpx.TimeoutException as error:
            raise ProviderError(
                self.provider, f"timed out after {self.max_attempts} attempts", retryable=True
            ) from error
        except httpx.TransportError as error:
            raise ProviderError(
                self.provider, f"connection failed: {redact(str(error))}", retryable=True
            ) from error
        if response.status_code >= 400:
            raise ProviderError(
                self.provider,
                f"HTTP {response.status_code}: {body_snippet(response)}",
                status=response.status_code,
                retryable=response.status_code in RETRYABLE_STATUS,
            )
        return response

    def _log_retry(self, state: RetryCallState) -> None:
        outcome = state.outcome
        if not outcome.failed:
            problem = f"HTTP {outcome.result().status_code}"
        elif isinstance(outcome.exception(), httpx.TimeoutException):
            problem = "timeout"
        else:
            problem = type(outcome.exception()).__name__
        log.warning(
            "%s: %s (attempt %d), retrying in %.1fs",
            self.provider,
            problem,
            state.attempt_number,
            state.upcoming_sleep,
        )

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        """Like request(), and the body must be JSON (an HTML error page or empty body is an error)."""
        response = self.request(method, url, **kwargs)
        if not response.content.strip():
            raise ProviderError(
                self.provider,
                f"HTTP {response.status_code} with an empty body",
                status=response.status_code,
            )
        try:
            return response.json()
        except ValueError as error:
            content_type = response.headers.get("content-type", "unknown")
            raise ProviderError(
                self.provider,
                f"expected JSON, got {content_type}: {body_snippet(response)}",
                status=response.status_code,
            ) from error


@dataclass
class HttpSettings:
    """How a provider client talks HTTP; `client()` builds the ProviderHTTP for one call."""

    timeout_s: float = 20.0
    max_attempts: int = 3
    backoff_s: float = 0.5
    sleep: Callable[[float], None] | None = None

    def client(self, provider: str, base_url: str, headers: dict[str, str]) -> ProviderHTTP:
        extra = {"sleep": self.sleep} if self.sleep else {}
        return ProviderHTTP(
            provider,
            base_url,
            headers=headers,
            timeout_s=self.timeout_s,
            max_attempts=self.max_attempts,
            backoff_s=self.backoff_s,
            **extra,
        )

    def fetch_feed(self, provider: str, url: str) -> bytes:
        """The body of an RSS/Atom feed at `url`; an empty body is an error."""
        headers = {"Accept": FEED_ACCEPT}
        with self.client(provider, url, headers) as http:
            response = http.request("GET", url)
        if not response.content.strip():
            raise ProviderError(provider, f"feed {redact(url)} returned an empty body")
        return response.content
