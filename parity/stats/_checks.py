"""Input checks shared by the statistics modules: every refusal says what to fix.

Private to ``parity.stats``; the messages are part of the behaviour ``tests/test_stats.py`` checks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from scipy import stats as sps

NAN = math.nan


def checked_confidence(confidence: float) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float, np.number)) or not (0 < confidence < 1):
        raise ValueError(
            f"confidence must be a proportion strictly between 0 and 1, such as 0.95 or 0.998; got {confidence!r}"
        )
    return float(confidence)


@lru_cache(maxsize=64)
def critical_z(confidence: float) -> float:
    return float(sps.norm.ppf(0.5 + confidence / 2))


def checked_count(name: str, value: float) -> float:
    """A count of zero or more; NaN passes through for the caller to propagate."""
    number = float(value)
    if math.isnan(number):
        return number
    if number < 0 or math.isinf(number):
        raise ValueError(f"{name} must be a finite count of zero or more; got {value!r}")
    return number


def whole_count(name: str, value: float) -> int:
    number = checked_count(name, value)
    if math.isnan(number) or number != int(number):
        raise ValueError(f"{name} must be a whole number of people; got {value!r}")
    return int(number)


def require_positive(name: str, value: float) -> None:
    if value <= 0:
        raise ValueError(f"{name} must be greater than zero; got {value!r}")


def require_within(part_name: str, part: float, whole_name: str, whole: float) -> None:
    if part > whole:
        raise ValueError(f"{part_name} ({part!r}) cannot be greater than {whole_name} ({whole!r})")


def flat_array(name: str, values: Sequence[float]) -> NDArray[np.float64]:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a flat sequence of numbers")
    return array


def require_same_length(**arrays: NDArray[np.float64]) -> None:
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name} has {length}" for name, length in lengths.items())
        raise ValueError(f"sequences must be the same length: {described}")


def survival_inputs(
    durations: Sequence[float], observed: Sequence[float], label: str = ""
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    times = flat_array(f"durations{label}", durations)
    events = flat_array(f"observed{label}", observed)
    require_same_length(**{f"durations{label}": times, f"observed{label}": events})
    if len(times) == 0:
        raise ValueError(f"durations{label} is empty: there are no cases to follow")
    if np.isnan(times).any() or (times < 0).any():
        raise ValueError(f"durations{label} must all be numbers of zero or more (no missing values)")
    if not np.isin(events, (0, 1)).all():
        raise ValueError(f"observed{label} must be 1 (closed: the event happened) or 0 (open: censored)")
    return times, events


def frequency_weights(weights: Sequence[float] | None, n: int, label: str = "") -> NDArray[np.float64]:
    """How many cases each row stands for (grouped input); every row is one case when not given."""
    if weights is None:
        return np.ones(n)
    counts = flat_array(f"weights{label}", weights)
    require_same_length(**{f"durations{label}": np.empty(n), f"weights{label}": counts})
    if np.isnan(counts).any() or (counts < 0).any():
        raise ValueError(f"weights{label} must be counts of zero or more: how many cases each row stands for")
    return counts
