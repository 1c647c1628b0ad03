"""Place names a grant may be limited to: the US states and the countries that grant texts
name most. Enough to tell "in your area" from "somewhere else"; a text naming no place here is
treated as open anywhere."""

from __future__ import annotations

import functools
import re

US_STATES = (
    "Alabama Alaska Arizona Arkansas California Colorado Connecticut Delaware Florida Georgia"
    " Hawaii Idaho Illinois Indiana Iowa Kansas Kentucky Louisiana Maine Maryland"
    " Massachusetts Michigan Minnesota Mississippi Missouri Montana Nebraska Nevada"
    " New_Hampshire New_Jersey New_Mexico New_York North_Carolina North_Dakota Ohio Oklahoma"
    " Oregon Pennsylvania Rhode_Island South_Carolina South_Dakota Tennessee Texas Utah Vermont"
    " Virginia Washington West_Virginia Wisconsin Wyoming Puerto_Rico"
)
COUNTRIES = (
    "Afghanistan Albania Algeria Angola Argentina Armenia Australia Austria Bangladesh Belgium"
    " Bolivia Botswana Brazil Bulgaria Burundi Cambodia Cameroon Canada Chile China Colombia"
    " Congo Cuba Denmark Ecuador Egypt Ethiopia Finland France Germany Ghana Greece Guatemala"
    " Haiti Honduras Hungary India Indonesia Iran Iraq Ireland Israel Italy Jamaica Japan"
    " Jordan Kenya Korea Laos Lebanon Liberia Malawi Malaysia Mali Mexico Mongolia Morocco"
    " Mozambique Myanmar Namibia Nepal Netherlands Nicaragua Niger Nigeria Norway Pakistan"
    " Peru Philippines Poland Portugal Romania Russia Rwanda Senegal Serbia Somalia"
    " South_Africa Spain Sri_Lanka Sudan Sweden Switzerland Syria Tanzania Thailand Turkey"
    " Uganda Ukraine United_Kingdom Venezuela Vietnam Yemen Zambia Zimbabwe"
)
PLACES = tuple(p.replace("_", " ") for p in (US_STATES + " " + COUNTRIES).split())
# "Washington" is also a city and a surname; "Georgia" a country and a state: both stay, as
# the verdict only ever compares against the profile's own places.
_PATTERN = re.compile(r"\b(" + "|".join(re.escape(p) for p in PLACES) + r")\b")


@functools.lru_cache(maxsize=8192)
def places_in(text: str) -> frozenset[str]:
    """The known places `text` names (case-sensitive: 'georgia' is not a place)."""
    return frozenset(_PATTERN.findall(text))
