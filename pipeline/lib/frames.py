"""Polars frames from plain objects, for tables written from dataclasses."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter
from typing import Any

import polars as pl


def attribute_frame(
    objects: Sequence[Any], schema: Mapping[str, pl.DataType], **computed: Callable[[Any], Any]
) -> pl.DataFrame:
    """One row per object and a column per `schema` entry: the object's attribute of that
    name, or what `computed[name]` makes of the object."""
    getters = {name: computed.get(name) or attrgetter(name) for name in schema}
    return pl.DataFrame(
        {name: [get(o) for o in objects] for name, get in getters.items()}, schema=schema
    )
