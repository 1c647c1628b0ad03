"""Under CI=true a skipped test is a failed test, unless its reason is on the opt-out list below.

A skip hides a test that would otherwise have checked something: in CI every server, tool and
data file is there, so a skip there means a check silently did not run. `require()` already
fails under CI; this catches every other way to skip (pytest.skip, importorskip, skip markers,
module-level skips). It works per report, so it holds on pytest-xdist workers too.
"""

from __future__ import annotations

import os
import re

import pytest

# (reason pattern, why that skip is acceptable in CI). Add an entry only with a reason a
# reviewer accepts; README.md "Tests" lists these too.
CI_SKIP_OPT_OUTS: list[tuple[str, str]] = []


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    if isinstance(report.longrepr, tuple):  # (path, line, "Skipped: reason")
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return str(report.longrepr)


def opted_out(reason: str) -> bool:
    return any(re.search(pattern, reason) for pattern, _ in CI_SKIP_OPT_OUTS)


def fail_unlisted_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    """Turn a skip under CI=true into a failure unless its reason is opted out."""
    if not (in_ci() and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = skip_reason(report)
    if opted_out(reason):
        return
    report.outcome = "failed"
    report.longrepr = (
        f"skipped under CI=true: {reason}\n"
        "(a skip in CI hides a check; fix the cause, or add the reason to "
        "CI_SKIP_OPT_OUTS in pipeline_tests/ci_guard.py with why)"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    fail_unlisted_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    report = yield
    fail_unlisted_skip(report)
    return report
