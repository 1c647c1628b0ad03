"""The AI scoring resource: dagster-openai's OpenAIResource, usable without a key.

With no API key it hands out the local scorer, so every asset materialises on a fresh machine.
With a key it hands out the OpenAI scorer over the resource's client (any OpenAI-compatible
server through base_url); dagster-openai records calls and tokens in the asset's metadata.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from dagster_openai import OpenAIResource, with_usage_metadata
from openai import Client
from pydantic import Field

from pipeline.lib.scoring.cache import WarehouseScoreCache
from pipeline.lib.scoring.local import LocalScorer
from pipeline.lib.scoring.models import Scorer
from pipeline.lib.scoring.openai_scorer import DEFAULT_MODEL, OpenAIScorer
from pipeline.lib.warehouse import Warehouse


class ScoringAIResource(OpenAIResource):
    api_key: str = Field(
        default="", description="OpenAI API key; empty means the local scorer is used."
    )
    model: str = Field(default=DEFAULT_MODEL, description="Chat model for scoring.")
    prefilter_threshold: float = Field(
        default=0.15, description="Local score a pair needs before it is worth an API call."
    )
    max_concurrency: int = Field(default=16, description="Parallel API requests per run.")
    max_requests_per_run: int = Field(default=2000, description="Request budget per run.")
    max_tokens_per_run: int = Field(default=2_000_000, description="Token budget per run.")
    max_attempts: int = Field(default=4, description="Tries per request on 429/5xx/timeouts.")
    backoff_s: float = Field(default=0.5, description="First retry delay (doubles each time).")
    request_timeout_s: float = Field(default=30.0, description="Timeout of one API request.")

    @property
    def uses_openai(self) -> bool:
        return bool(self.api_key)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if not self.uses_openai:
            return
        # max_retries=0: the scorer retries itself, so it can count requests against the
        # budget and stop calling an API that is down.
        self._client = Client(
            api_key=self.api_key,
            organization=self.organization,
            project=self.project,
            base_url=self.base_url or None,
            max_retries=0,
            timeout=self.request_timeout_s,
        )

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self.uses_openai:
            self._client.close()

    @contextmanager
    def scorer(self, context: dg.AssetExecutionContext, database: Warehouse) -> Iterator[Scorer]:
        """The scorer for one asset execution (its request/token budget is per run);
        `database`: the warehouse resource's `backend`, for the score cache."""
        if not self.uses_openai:
            yield LocalScorer()
            return
        with self.get_client(context) as client:
            wrapped = client.chat.completions.create
            # Worker threads call the unwrapped method; usage is then recorded through
            # dagster-openai's with_usage_metadata on the asset's own thread, where its
            # counters are safe.
            raw_create = getattr(wrapped, "__wrapped__", wrapped)

            def record_usage(response) -> None:
                with_usage_metadata(context, None, lambda: response)()

            yield OpenAIScorer(
                raw_create,
                model=self.model,
                cache=WarehouseScoreCache(database),
                prefilter_threshold=self.prefilter_threshold,
                max_concurrency=self.max_concurrency,
                max_requests=self.max_requests_per_run,
                max_tokens=self.max_tokens_per_run,
                max_attempts=self.max_attempts,
                backoff_s=self.backoff_s,
                on_response=record_usage,
            )
