"""Confidence intervals for the figures evalrun reports.

Proportions use the Wilson score interval (well behaved at 0 and 1 and for
small n); means of bounded non-binary values use a seeded percentile bootstrap.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

Z95 = 1.959963984540054


def wilson(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion; (0, 1) when n is 0."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if successes <= 0 else max(0.0, centre - half)
    hi = 1.0 if successes >= n else min(1.0, centre + half)
    return (lo, hi)


def bootstrap_mean(values: Sequence[float], reps: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% percentile-bootstrap interval of a mean."""
    n = len(values)
    if n == 0:
        return (0.0, 1.0)
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(values, k=n)) / n for _ in range(reps))
    return (means[int(0.025 * reps)], means[min(reps - 1, int(0.975 * reps))])


def proportion_or_mean_ci(values: Sequence[float]) -> tuple[float, float]:
    """Wilson when every value is 0 or 1, else bootstrap."""
    if all(v in (0.0, 1.0) for v in values):
        return wilson(sum(values), len(values))
    return bootstrap_mean(values)


def paired_bootstrap_delta(
    base: Sequence[float], other: Sequence[float], reps: int = 2000, seed: int = 0
) -> tuple[float, tuple[float, float]]:
    """Mean of (other - base) over paired samples, with a 95% paired percentile-bootstrap CI.

    Resampling pairs (not the two arms separately) keeps the per-sample correlation, which is what
    makes a before/after comparison on the same items tight. The one implementation for every paired
    figure (variants within a run, a run against its baseline): with few distinct differences (binary
    outcomes) it resamples their counts exactly (multinomial), else indices; seeded, so repeatable.
    """
    import numpy as np

    n = len(base)
    if n == 0 or n != len(other):
        raise ValueError("paired samples must be non-empty and of equal length")
    d = np.asarray(other, dtype=float) - np.asarray(base, dtype=float)
    rng = np.random.default_rng(seed)
    values, counts = np.unique(d, return_counts=True)
    if len(values) <= 64:
        means = rng.multinomial(n, counts / n, size=reps) @ values / n
    else:
        means = np.empty(reps)
        step = max(1, 2_000_000 // n)
        for i in range(0, reps, step):
            k = min(step, reps - i)
            means[i:i + k] = d[rng.integers(0, n, size=(k, n))].mean(axis=1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    return float(d.mean()), (float(lo), float(hi))


def mcnemar_exact(base: Sequence[float], other: Sequence[float]) -> float:
    """Two-sided exact McNemar p-value for paired binary outcomes (a binomial test on the discordant pairs)."""
    b = sum(1 for x, y in zip(base, other, strict=True) if x == 1 and y == 0)
    c = sum(1 for x, y in zip(base, other, strict=True) if x == 0 and y == 1)
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail)


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def se_from_ci(ci: Sequence[float]) -> float:
    """The standard error a 95% interval implies (half its width over 1.96); never 0, so tests stay defined."""
    return max((ci[1] - ci[0]) / (2 * Z95), 1e-9)


def detectable_effect(se: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest true effect a one-sided test at `alpha` detects with `power`, given the estimate's SE."""
    return (_z(1 - alpha) + _z(power)) * se


def _z(p: float) -> float:
    """The standard normal quantile (inverse CDF) by bisection: enough for test planning figures."""
    lo, hi = -10.0, 10.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if 1 - normal_sf(mid) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (same order as given): reject where adjusted p <= alpha controls the
    family-wise error rate at alpha over all the claims together."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted
