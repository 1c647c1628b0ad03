"""Fixtures of the grants parser tests: the bundled samples, the legacy 18F extract, the
realdata current-format record wrapped in its namespaced root, and HTTP settings that never
sleep."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.lib.grants.extract import CURRENT_NAMESPACE
from pipeline.lib.http import HttpSettings
from pipeline.lib.settings import REPO_ROOT
from pipeline_tests.conftest import FIXTURES

SAMPLES = REPO_ROOT / "data" / "samples" / "grants"
LEGACY_EXTRACT = FIXTURES / "grants" / "grants_gov_extract_2008_fundingoppsynopsis.xml"


def wrap_current(*records: bytes) -> bytes:
    """A current-format extract document around record elements."""
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        + f'<Grants xmlns="{CURRENT_NAMESPACE}">\n'.encode()
        + b"\n".join(records)
        + b"\n</Grants>\n"
    )


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture
def legacy_extract() -> Path:
    return LEGACY_EXTRACT


@pytest.fixture
def current_fragment(realdata: Path) -> bytes:
    """The one real current-format record (OpportunityID 131073), wrapped in the namespaced
    root it was cut from."""
    fragment = (realdata / "api" / "grants_gov_extract_fragment_synopsis_1_0.xml").read_bytes()
    return wrap_current(fragment)


class SleepRecorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def fast_http(sleeps: SleepRecorder) -> HttpSettings:
    """Retries without waiting (the waits are recorded) and a short timeout."""
    return HttpSettings(timeout_s=2.0, max_attempts=3, backoff_s=0.01, sleep=sleeps)


# A reply the server holds back this long has timed out for `impatient_http` whatever the load.
HELD_BACK_S = 10.0


@pytest.fixture
def impatient_http(sleeps: SleepRecorder) -> HttpSettings:
    """Two attempts of 1 s each: ample for a loopback reply on a busy machine (a 0.2 s budget
    is not), far short of HELD_BACK_S."""
    return HttpSettings(timeout_s=1.0, max_attempts=2, backoff_s=0.01, sleep=sleeps)
