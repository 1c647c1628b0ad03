"""Organisation profiles: validation with clear errors, completeness, the matchable threshold."""

import pytest

from pipeline.lib.grants.organizations import (
    OrganizationEntry,
    OrganizationsConfigError,
    completeness,
    load_organizations,
)
from pipeline.lib.settings import REPO_ROOT


def write(tmp_path, text: str):
    (tmp_path / "organizations.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_bundled_profiles_load_and_the_incomplete_one_says_what_it_lacks():
    loaded = load_organizations(REPO_ROOT / "data" / "config")
    by_id = {o.profile.org_id: o for o in loaded.organizations}
    assert loaded.is_sample and all(o.is_sample for o in loaded.organizations)
    assert by_id["org-riverside-youth"].is_matchable
    assert by_id["org-riverside-youth"].completeness == 1.0
    arts = by_id["org-new-arts-collective"]
    assert not arts.is_matchable and arts.completeness == pytest.approx(0.2)
    assert "keywords" in arts.missing and any(m.startswith("mission") for m in arts.missing)
    assert by_id["org-harbor-health"].profile.tenant_id == "globex"


def test_completeness_weights():
    full = OrganizationEntry(
        org_id="o",
        name="O",
        mission="x" * 40,
        focus_areas=["a"],
        keywords=["k"],
        eligibility_type="nonprofit",
        geography="Ohio",
        budget={"max": 10},
    )
    assert completeness(full) == (1.0, ())
    score, missing = completeness(OrganizationEntry(org_id="o", name="O", keywords=["k"]))
    assert score == pytest.approx(0.2) and "budget" in missing


def test_threshold_comes_from_the_file(tmp_path):
    folder = write(
        tmp_path,
        "matching: {min_completeness: 0.1}\norganizations:\n  - {org_id: a, name: A, keywords: [k]}\n",
    )
    loaded = load_organizations(folder)
    assert loaded.min_completeness == 0.1 and loaded.organizations[0].is_matchable
    assert not loaded.is_sample


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("organizations:\n  - {org_id: a}\n", "organisation a"),
        ("organizations:\n  - {org_id: a, name: A, colour: red}\n", "colour"),
        ("organizations:\n  - {org_id: a, name: A}\n  - {org_id: a, name: B}\n", "listed twice"),
        ("organizations:\n  - {org_id: a, name: A, budget: {min: 9, max: 1}}\n", "above max"),
        ("matching: {min_completeness: 3}\norganizations: []\n", "between 0 and 1"),
        ("organizations: [\n", "not valid YAML"),
    ],
)
def test_bad_files_are_clear_errors(tmp_path, text, message):
    with pytest.raises(OrganizationsConfigError, match=message):
        load_organizations(write(tmp_path, text))


def test_missing_file_means_no_organizations(tmp_path):
    assert load_organizations(tmp_path).organizations == []
