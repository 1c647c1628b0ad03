"""The CI skip guard (pipeline_tests/ci_guard.py), run as pytest runs it: in a child pytest
over a small test folder, in one process and on an xdist worker, with and without CI=true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.lib.settings import REPO_ROOT

CONFTEST = """
from pipeline_tests import ci_guard
from pipeline_tests.ci_guard import pytest_make_collect_report, pytest_runtest_makereport

ci_guard.CI_SKIP_OPT_OUTS.append(("^opted out on purpose$", "the guard's own test"))
"""
TESTS = """
import pytest

def test_passes():
    pass

def test_skips_in_the_body():
    pytest.skip("a server is missing")

@pytest.fixture
def server():
    pytest.skip("a server is missing in a fixture")

def test_skips_in_a_fixture(server):
    pass

@pytest.mark.skipif(True, reason="a skip marker")
def test_skips_by_marker():
    pass

def test_opted_out():
    pytest.skip("opted out on purpose")

@pytest.mark.xfail(reason="a known bug")
def test_expected_failure():
    assert False
"""
MODULE_SKIP = 'import pytest\n\npytest.importorskip("no_such_module_for_the_ci_guard")\n'


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_skips.py").write_text(TESTS)
    return tmp_path


def child_pytest(folder: Path, ci: bool, workers: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env.pop("CI", None)
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "-n", str(workers)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_skips_pass_outside_ci(folder):
    (folder / "test_module_skip.py").write_text(MODULE_SKIP)
    result = child_pytest(folder, ci=False, workers=0)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 5 skipped, 1 xfailed" in result.stdout


@pytest.mark.parametrize("workers", [0, 1])
def test_under_ci_every_skip_not_opted_out_fails(folder, workers):
    result = child_pytest(folder, ci=True, workers=workers)
    assert result.returncode == 1, result.stdout
    assert "FAILED test_skips.py::test_skips_in_the_body" in result.stdout
    # A skip in set-up (a fixture, a skip marker) fails that set-up: an error.
    assert "ERROR test_skips.py::test_skips_in_a_fixture" in result.stdout
    assert "ERROR test_skips.py::test_skips_by_marker" in result.stdout
    assert "skipped under CI=true: a server is missing in a fixture" in result.stdout
    assert "SKIPPED" in result.stdout and "opted out on purpose" in result.stdout
    summary = result.stdout.strip().splitlines()[-1]
    assert "1 failed, 1 passed, 1 skipped, 1 xfailed, 2 errors" in summary, summary


def test_under_ci_a_module_level_skip_fails_collection(folder):
    (folder / "test_skips.py").unlink()
    (folder / "test_module_skip.py").write_text(MODULE_SKIP)
    result = child_pytest(folder, ci=True, workers=0)
    assert result.returncode != 0, result.stdout
    assert "ERROR test_module_skip.py" in result.stdout
    assert "skipped under CI=true: could not import 'no_such_module_for_the_ci_guard'" in (
        result.stdout
    )
