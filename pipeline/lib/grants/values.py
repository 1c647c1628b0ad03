"""The Grants.gov code tables (eligibility and funding activity categories) and the small value
cleaners every grants parser shares (the XML extract, Simpler.Grants.gov, search2, feeds)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from pipeline.lib.grants.models import GrantParseError
from pipeline.lib.text import plain_text

GRANTS_GOV_DETAIL_URL = "https://www.grants.gov/search-results-detail/{}"

# Grants.gov eligible applicant codes, so the eligibility rules see words, not numbers.
ELIGIBILITY_CODES = {
    "00": "State governments",
    "01": "County governments",
    "02": "City or township governments",
    "04": "Special district governments",
    "05": "Independent school districts",
    "06": "Public and State controlled institutions of higher education",
    "07": "Native American tribal governments",
    "08": "Public housing authorities",
    "11": "Native American tribal organizations",
    "12": "Nonprofits having a 501(c)(3) status with the IRS",
    "13": "Nonprofits that do not have a 501(c)(3) status",
    "20": "Private institutions of higher education",
    "21": "Individuals",
    "22": "For profit organizations other than small businesses",
    "23": "Small businesses",
    "25": "Others",
    "99": "Unrestricted",
}

# Grants.gov funding activity category codes.
FUNDING_CATEGORY_CODES = {
    "ACA": "Affordable Care Act",
    "AG": "Agriculture",
    "AR": "Arts",
    "BC": "Business and Commerce",
    "CD": "Community Development",
    "CP": "Consumer Protection",
    "DPR": "Disaster Prevention and Relief",
    "ED": "Education",
    "ELT": "Employment, Labor and Training",
    "EN": "Energy",
    "ENV": "Environment",
    "FN": "Food and Nutrition",
    "HL": "Health",
    "HO": "Housing",
    "HU": "Humanities",
    "IIJ": "Infrastructure Investment and Jobs Act",
    "IS": "Information and Statistics",
    "ISS": "Income Security and Social Services",
    "LJL": "Law, Justice and Legal Services",
    "NR": "Natural Resources",
    "O": "Other",
    "OZ": "Opportunity Zone Benefits",
    "RA": "Recovery Act",
    "RD": "Regional Development",
    "ST": "Science and Technology and other Research and Development",
    "T": "Transportation",
}

# Values that mean "nothing here" in optional text fields of real extracts.
_EMPTY_VALUES = frozenset({"", "not available", "none", "n/a", "na", "null"})


def first_text(value: Any) -> str:
    """One stripped string from a raw value: a list gives its first non-empty item."""
    if value.__class__ is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return next((s for s in (first_text(v) for v in value) if s), "")
    return str(value).strip()


def required_title(record: str, title_value: Any, source_id: str | None, id_name: str) -> str:
    """The clean title of a record that must have a title and an id; GrantParseError naming
    the `record` ("simpler_grants opportunity") and what it lacks otherwise."""
    title = plain_text(first_text(title_value))
    if not title:
        raise GrantParseError(f"{record} {source_id or '?'} has no title")
    if not source_id:
        raise GrantParseError(f"{record} '{title[:80]}' has no {id_name}")
    return title


def meaningful(value: Any) -> str | None:
    """The cleaned text of an optional field, or None for '', 'Not Available', 'None', 'N/A'."""
    text = plain_text(value if value.__class__ is str else first_text(value))
    if not text or (len(text) <= 13 and text.casefold() in _EMPTY_VALUES):
        return None
    return text


def split_codes(value: Any) -> list[str]:
    """Codes from a repeated field; a value holding several codes ('12 25', '93.1,93.2') is
    split. Order kept, duplicates and 'Not Available' dropped."""
    if not value:
        return []
    codes: dict[str, None] = {}
    for item in value if isinstance(value, list | tuple) else (value,):
        if item.__class__ is not str:
            item = str(item)
        if len(item) <= 13 and item.strip().casefold() in _EMPTY_VALUES:
            continue
        if "," in item or ";" in item:
            item = item.replace(",", " ").replace(";", " ")
        for code in item.split():
            codes[code] = None
    return list(codes)


def parse_amount(value: Any) -> float | None:
    """Dollars; 'none', 'Not Available', '', 0, negatives and text mean unknown (None)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = first_text(value)
        if not text:
            return None
        if not text.isdigit():
            text = text.replace(",", "").replace("$", "").strip()
        try:
            number = float(text)
        except ValueError:
            return None
    if not 0 < number < float("inf"):  # also false for NaN
        return None
    return number


def parse_grants_date(value: Any) -> dt.date | None:
    """Dates as Grants.gov writes them: MMDDYYYY (extracts), MM/DD/YYYY (search2) or ISO
    YYYY-MM-DD. Anything else, or an impossible date, is None (never an exception)."""
    if not value:
        return None
    text = value.strip() if value.__class__ is str else first_text(value)
    try:
        if len(text) == 8 and text.isdigit():
            return dt.date(int(text[4:]), int(text[:2]), int(text[2:4]))
        if len(text) == 10 and text[2] == "/" and text[5] == "/":
            return dt.date(int(text[6:]), int(text[:2]), int(text[3:5]))
        if len(text) >= 10 and text[4] == "-" and text[7] == "-":
            return dt.date(int(text[:4]), int(text[5:7]), int(text[8:10]))
        if text.count("/") == 2:
            month, day, year = text.split("/")
            if len(year) == 4:
                return dt.date(int(year), int(month), int(day))
    except ValueError:
        return None
    return None


def utc_midnight(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) if day else None


def eligibility_words(codes: Iterable[str]) -> str:
    """'12; 25' -> 'Nonprofits having a 501(c)(3) status with the IRS; Others'. Unknown codes
    are kept as they are."""
    words = dict.fromkeys(ELIGIBILITY_CODES.get(code, code) for code in codes if code)
    return "; ".join(words)


def category_words(codes: Iterable[str], explanation: str | None = None) -> str | None:
    """Funding activity categories in words; 'Other' carries its explanation when given."""
    words: dict[str, None] = {}
    for code in codes:
        word = FUNDING_CATEGORY_CODES.get(code.upper(), code)
        if code.upper() == "O" and explanation:
            word = f"Other: {explanation}"
        words[word] = None
    return "; ".join(words) or None


def join_eligibility(words: str, extra: str | None) -> str | None:
    if words and extra:
        return f"{words}. {extra}"
    return words or extra or None


def grants_gov_url(opportunity_id: str | None) -> str | None:
    return GRANTS_GOV_DETAIL_URL.format(opportunity_id) if opportunity_id else None


def http_url(value: Any) -> str | None:
    text = first_text(value)
    return text if text.lower().startswith(("http://", "https://")) else None
