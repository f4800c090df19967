"""Checks and conversions of table columns shared by the modules that read runs.csv and measures.csv."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["as_bool", "require_columns"]


def require_columns(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """TypeError unless ``df`` is a DataFrame; ValueError naming the columns of ``columns`` it lacks."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what} needs a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {missing}; have {list(df.columns)}")


def as_bool(series: pd.Series) -> pd.Series:
    """Booleans from bool, 0/1 or 'true'/'false' columns (as CSV round trips may give); NaN counts as False."""
    if series.dtype == bool:
        return series
    mapping = {"true": True, "false": False, "1": True, "0": False, "": False, "nan": False}

    def convert(value: Any) -> bool:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        if isinstance(value, (bool, np.bool_, int, np.integer, float, np.floating)):
            return bool(value)
        key = str(value).strip().lower()
        if key not in mapping:
            raise ValueError(f"cannot read {value!r} as a boolean (column {series.name!r})")
        return mapping[key]

    return series.map(convert).astype(bool)
