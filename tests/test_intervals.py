"""Honest Kendall intervals (SPEC §14, issue 18.4 and 20.5): seed resampling with the right variance on 2-3 seeds,
checked by coverage on fabricated studies with known noise, and intervals that contain their estimate."""

import numpy as np
import pandas as pd
import pytest

from intraclass.kendall import _cells, _prepare, bootstrap_interval, draw_replicates, granulated_kendall_intervals

LRS = (0.01, 0.032, 0.1)
BATCH_SIZES = (100, 300)
# configuration effects on accuracy (rows: learning rates, columns: batch sizes), of the order of the seed noise
EFFECTS = np.array([[0.0, 0.3], [0.5, 0.8], [1.0, 1.3]])
SEED_SD, MEASURE_SD = 0.5, 0.5
N_STUDIES, N_RESAMPLES = 200, 200


def fabricated_study(n_seeds, rng):
    """accuracy = configuration effect + N(0, SEED_SD^2) per seed; measure = accuracy + N(0, MEASURE_SD^2)."""
    rows = [
        dict(lr=lr, weight_decay=0.0, batch_size=bs, optimizer="sgd", dropout=0.0, augment=False, width=1.0,
             depth=1.0, replicate=r, effect=EFFECTS[i, j])
        for i, lr in enumerate(LRS) for j, bs in enumerate(BATCH_SIZES) for r in range(n_seeds)
    ]  # fmt: skip
    df = pd.DataFrame(rows)
    df["test_acc"] = df["effect"] + rng.normal(0, SEED_SD, len(df))
    df["c3"] = df["test_acc"] + rng.normal(0, MEASURE_SD, len(df))
    return df


def expected_total():
    """The true expected total: a cross pair whose effects differ by d contributes E[sign(da) sign(dm)], da ~
    N(d, 2 SEED_SD^2), dm = da + N(0, 2 MEASURE_SD^2) (1e6 draws each); psi averages it over the configuration
    pairs of each group (every configuration has the same number of seeds), the total over the 2 axes."""
    rng = np.random.default_rng(123)
    noise_a = rng.normal(0, np.sqrt(2) * SEED_SD, 1_000_000)
    noise_m = rng.normal(0, np.sqrt(2) * MEASURE_SD, 1_000_000)

    def pair(d):
        return np.mean(np.sign(d + noise_a) * np.sign(d + noise_a + noise_m))

    learning_rate = np.mean([pair(EFFECTS[i, j] - EFFECTS[k, j]) for j in range(2) for i in range(3) for k in range(i)])
    batch_size = np.mean([pair(EFFECTS[i, 1] - EFFECTS[i, 0]) for i in range(3)])
    return (learning_rate + batch_size) / 2


@pytest.mark.parametrize("n_seeds", [2, 3])
def test_seed_interval_covers_the_expected_total_at_the_nominal_rate(n_seeds):
    # Measured over 500 studies of this design: 2 seeds 0.922 (before this correction 0.876), 3 seeds 0.954
    # (0.954). With effects halved and measure noise 0.25, 2 seeds cover 0.84 either way (3 seeds: 0.956, before
    # 0.942): with 2 seeds a configuration's resamples take 3 compositions only, hence the ‡ flag.
    truth = expected_total()
    rng = np.random.default_rng(n_seeds)
    covered, widths, widths_before = 0, [], []
    for k in range(N_STUDIES):
        df = fabricated_study(n_seeds, rng)
        total = granulated_kendall_intervals(df, "c3", n_resamples=N_RESAMPLES, seed=k).loc["total"]
        assert total.lo <= total.value <= total.hi and total.few_seeds
        covered += total.lo <= truth <= total.hi
        widths.append(total.hi - total.lo)
        # the method before: n of n seeds drawn with replacement (variance (n - 1)/n too small), plain percentiles
        prepared = _prepare(df, "c3", 1, "test", "cross")
        draws = draw_replicates(df, N_RESAMPLES, k)
        before = _cells(prepared.axis_pairs, prepared.oriented[draws], prepared.accuracy[draws], "spec", draws)
        widths_before.append(np.diff(np.quantile(before[:, -1], [0.025, 0.975]))[0])
    coverage = covered / N_STUDIES
    print(
        f"{n_seeds} seeds: coverage {coverage:.3f}, width {np.mean(widths):.3f} (before {np.mean(widths_before):.3f})"
    )
    assert 0.88 <= coverage <= 0.99
    assert np.mean(widths) > np.mean(widths_before)  # the seeds' variance is no longer understated


def test_interval_contains_its_estimate_where_the_percentile_interval_did_not():
    # resamples of a sign statistic pulled towards 0: the point 0.66, 95% of the resamples in [0.67, 0.82] (seen
    # in bench/bench_kendall.py's augmentation cells before this correction)
    resampled = np.array([0.60] * 2 + [0.67] * 3 + [0.75] * 90 + [0.82] * 5)
    lo, hi = np.quantile(resampled, [0.025, 0.975])
    assert not lo <= 0.66 <= hi  # the percentile interval excludes its estimate
    # translated so that the median (0.75) sits on 0.66: [0.66 + 0.67 - 0.75, 0.66 + 0.82 - 0.75]
    assert bootstrap_interval(0.66, resampled) == pytest.approx((0.58, 0.73))
    assert bootstrap_interval(0.95, resampled) == pytest.approx((0.87, 1.0))  # clipped to [-1, 1]
    assert bootstrap_interval(0.7, np.array([np.nan, 0.2, 0.2])) == pytest.approx((0.7, 0.7))
    with pytest.raises(ValueError, match="at least one defined resample"):
        bootstrap_interval(0.5, np.array([np.nan]))
    with pytest.raises(ValueError, match=r"must be in \[-1, 1\], got 1.5"):
        bootstrap_interval(1.5, resampled)
