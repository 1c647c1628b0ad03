"""The AI scorer: structured output from any OpenAI-compatible chat completions API.

Cheap first: the local scorer scores every pair, and only pairs above the lexical prefilter
threshold are worth a call. Each call's answer is cached by (item content hash, profile hash,
model, prompt version), so an unchanged rerun makes no call. Calls run on a bounded thread
pool, back off exponentially honouring Retry-After on 429/5xx, and stop cleanly when the
run's request or token budget is spent or the API looks down; every pair that does not get
a valid AI answer keeps its local score, labelled `local`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from pydantic import BaseModel, ValidationError

from pipeline.lib.scoring import prompts
from pipeline.lib.scoring.local import LocalScorer
from pipeline.lib.scoring.models import (
    GrantPair,
    GrantScore,
    NewsPair,
    NewsScore,
    ScoringStats,
)
from pipeline.lib.scoring.openai_calls import ApiCaller, Budget
from pipeline.lib.scoring.score_cache import CacheEntry, MemoryScoreCache, ScoreCache, cache_key

DEFAULT_MODEL = "gpt-4o-mini"
# USD per million tokens (input, output); a model not listed is costed with the default pair.
PRICES_PER_MILLION: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
}


def estimate_cost(model: str, prompt_tokens: int, completion_tokens: int) -> float:
    price_in, price_out = PRICES_PER_MILLION.get(model, PRICES_PER_MILLION[DEFAULT_MODEL])
    return (prompt_tokens * price_in + completion_tokens * price_out) / 1_000_000


# What differs between asking about a grant and about an article: the messages of a pair, the
# JSON schema the model answers in, the model that validates the answer; and the id fields.
_QUESTIONS = {
    "grant": (prompts.grant_messages, prompts.GRANT_RESPONSE_FORMAT, prompts.GrantMatchOutput),
    "news": (prompts.news_messages, prompts.NEWS_RESPONSE_FORMAT, prompts.NewsScoreOutput),
}
_ID_FIELDS = {"grant": ("org_id", "grant_id"), "news": ("client_id", "article_id")}


class OpenAIScorer:
    name = "openai"

    def __init__(
        self,
        create: Callable[..., Any],
        *,
        model: str = DEFAULT_MODEL,
        cache: ScoreCache | None = None,
        local: LocalScorer | None = None,
        prefilter_threshold: float = 0.15,
        max_concurrency: int = 8,
        max_requests: int = 2000,
        max_tokens: int = 2_000_000,
        max_attempts: int = 4,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        unavailable_after: int = 3,
        max_completion_tokens: int = 300,
        on_response: Callable[[Any], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        """`create` is `client.chat.completions.create` of an openai client built with
        max_retries=0 (ApiCaller does the retrying). `on_response` is called on the calling
        thread for every API response (dagster-openai's usage metadata)."""
        self.model = model
        self.cache = cache or MemoryScoreCache()
        self.local = local or LocalScorer()
        self.prefilter_threshold = prefilter_threshold
        self.max_concurrency = max(1, max_concurrency)
        self.budget = Budget(max_requests=max_requests, max_tokens=max_tokens)
        self.calls = ApiCaller(
            create,
            model=model,
            budget=self.budget,
            max_attempts=max_attempts,
            backoff_s=backoff_s,
            max_backoff_s=max_backoff_s,
            unavailable_after=unavailable_after,
            max_completion_tokens=max_completion_tokens,
            sleep=sleep,
        )
        self.on_response = on_response
        self.stats = ScoringStats(configured_scorer="openai", model=model)
        self.failures: list[dict] = []

    # ----- public interface -----------------------------------------------------------------
    def score_grants(self, pairs: Sequence[GrantPair], today: dt.date) -> list[GrantScore]:
        local_scores = self.local.score_grants(pairs, today)
        candidates = [i for i, s in enumerate(local_scores) if s.score >= self.prefilter_threshold]
        outputs, keys = self._ask("grant", pairs, candidates)
        results = list(local_scores)
        for i, output in outputs.items():
            local = local_scores[i]
            # The model's sentence first; the deadline stays visible (digests sort by it).
            deadline = [r for r in local.reasons if r.startswith(("closes", "no deadline"))]
            results[i] = GrantScore(
                score=round(output["score"], 4),
                confidence=round(output["confidence"], 4),
                reasons=(output["reason"], *deadline),
                scorer=self.name,
                model=self.model,
                lexical_score=local.lexical_score,
                cache_key=keys[i],
            )
        return results

    def score_news(self, pairs: Sequence[NewsPair]) -> list[NewsScore]:
        local_scores = self.local.score_news(pairs)
        candidates = [
            i for i, s in enumerate(local_scores) if s.lexical_score >= self.prefilter_threshold
        ]
        outputs, keys = self._ask("news", pairs, candidates)
        results = list(local_scores)
        for i, output in outputs.items():
            results[i] = NewsScore(
                relevance=round(output["relevance"], 4),
                category=output["category"],
                summary=output["summary"],
                reason=output["reason"],
                confidence=round(output["confidence"], 4),
                scorer=self.name,
                model=self.model,
                lexical_score=local_scores[i].lexical_score,
                cache_key=keys[i],
            )
        return results

    # ----- the work ---------------------------------------------------------------------------
    def _ask(
        self, kind: str, pairs: Sequence[GrantPair | NewsPair], candidates: Sequence[int]
    ) -> tuple[dict[int, dict], dict[int, str]]:
        """The model's validated outputs for the candidate pairs (profile, item), by pair index,
        and each candidate's cache key."""
        build_messages, response_format, schema = _QUESTIONS[kind]
        jobs = {}
        for i in candidates:
            profile, item = pairs[i]
            key = cache_key(
                kind, item.content_hash, profile.profile_hash, self.model, prompts.PROMPT_VERSION
            )
            jobs[i] = (key, build_messages(profile, item), response_format)
        outputs = self._run(kind, jobs, schema, pairs)
        return outputs, {i: job[0] for i, job in jobs.items()}

    def _run(
        self,
        kind: str,
        jobs: Mapping[int, tuple[str, list[dict], dict]],
        schema: type[BaseModel],
        pairs: Sequence[GrantPair | NewsPair],
    ) -> dict[int, dict]:
        """Validated outputs by pair index, from the cache or the API; updates self.stats."""
        stats = ScoringStats(
            configured_scorer="openai",
            model=self.model,
            prompt_version=prompts.PROMPT_VERSION,
            pairs=len(pairs),
            ai_candidates=len(jobs),
        )
        outputs: dict[int, dict] = {}
        cached = self.cache.get_many(sorted({key for key, _, _ in jobs.values()}))
        to_call = []
        for i, (key, messages, response_format) in jobs.items():
            if key in cached:
                try:
                    outputs[i] = schema.model_validate(cached[key]).model_dump()
                    stats.cache_hits += 1
                    continue
                except ValidationError:
                    pass  # an entry from an older schema: ask again
            to_call.append((i, messages, response_format))

        new_entries: list[CacheEntry] = []
        fallback_reasons: dict[str, int] = {}
        if to_call:
            with ThreadPoolExecutor(
                max_workers=min(self.max_concurrency, len(to_call)),
                thread_name_prefix="ai-scorer",
            ) as pool:
                futures = {
                    pool.submit(self.calls.call, messages, response_format, schema): i
                    for i, messages, response_format in to_call
                }
                for future in as_completed(futures):
                    i = futures[future]
                    outcome = future.result()
                    stats.api_calls += outcome.requests
                    for response in outcome.responses:
                        usage = getattr(response, "usage", None)
                        if usage is not None:
                            stats.prompt_tokens += usage.prompt_tokens or 0
                            stats.completion_tokens += usage.completion_tokens or 0
                        if self.on_response is not None:
                            self.on_response(response)
                    key = jobs[i][0]
                    profile, item = pairs[i]
                    if outcome.output is not None:
                        outputs[i] = outcome.output
                        usage = [r.usage for r in outcome.responses if r.usage is not None]
                        new_entries.append(
                            CacheEntry(
                                cache_key=key,
                                kind=kind,
                                item_hash=item.content_hash,
                                profile_hash=profile.profile_hash,
                                model=self.model,
                                prompt_version=prompts.PROMPT_VERSION,
                                output=outcome.output,
                                prompt_tokens=sum(u.prompt_tokens or 0 for u in usage),
                                completion_tokens=sum(u.completion_tokens or 0 for u in usage),
                            )
                        )
                        continue
                    stats.fallbacks += 1
                    if outcome.failure is not None:
                        stats.failures += 1
                        subject_field, item_field = _ID_FIELDS[kind]
                        self.failures.append(
                            {
                                "kind": kind,
                                "subject_id": getattr(profile, subject_field),
                                "item_id": getattr(item, item_field),
                                "tenant_id": profile.tenant_id,
                                "cache_key": key,
                                "model": self.model,
                                "prompt_version": prompts.PROMPT_VERSION,
                                "error": outcome.failure,
                            }
                        )
                        reason = "invalid or refused output (after one retry)"
                    else:
                        reason = outcome.fallback or "unknown"
                    fallback_reasons[reason] = fallback_reasons.get(reason, 0) + 1
        if new_entries:
            self.cache.put_many(new_entries)

        stats.ai_scored = len(outputs)
        stats.estimated_cost_usd = estimate_cost(
            self.model, stats.prompt_tokens, stats.completion_tokens
        )
        stats.budget_exhausted = "budget" in " ".join(fallback_reasons)
        stats.api_unavailable = self.calls.down or any(
            "unavailable" in reason or "refused the request" in reason
            for reason in fallback_reasons
        )
        for reason, count in sorted(fallback_reasons.items()):
            stats.messages.append(f"{count} candidate(s) kept the local score: {reason}")
        if stats.budget_exhausted:
            stats.messages.append(
                f"AI budget for this run spent ({self.budget.requests}/{self.budget.max_requests}"
                f" requests, {self.budget.tokens}/{self.budget.max_tokens} tokens); scoring"
                " stopped cleanly and the rest keep their local score"
            )
        self.stats = stats
        return outputs
