"""Controls (SPEC §11): shuffled subclasses keep each superclass's subclass sizes; pixels are normalized like the
network input; verdicts count oriented wins exactly."""

import numpy as np
import pandas as pd
import pytest

from intraclass.controls import control_column, control_verdicts, pixel_layer, shuffle_within_superclass
from intraclass.measures import c1


def test_shuffle_keeps_superclasses_and_subclass_sizes_and_is_seeded():
    labels = np.repeat([0, 1], 50)
    sublabels = np.concatenate([np.repeat([0, 1], 25), np.repeat([2, 3], 25)])
    shuffled = shuffle_within_superclass(labels, sublabels, seed=3)
    for superclass in (0, 1):
        inside = labels == superclass
        assert sorted(shuffled[inside]) == sorted(sublabels[inside])  # same subclasses, same sizes
    assert (shuffled != sublabels).sum() > 20  # really shuffled
    assert np.array_equal(shuffled, shuffle_within_superclass(labels, sublabels, seed=3))
    assert not np.array_equal(shuffled, shuffle_within_superclass(labels, sublabels, seed=4))
    with pytest.raises(ValueError, match="differ in shape"):
        shuffle_within_superclass(labels, sublabels[:-1], seed=0)


def test_shuffled_subclasses_destroy_c1_of_a_perfect_subclass_neuron():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 200)
    sublabels = np.repeat([0, 1, 2, 3], 100)
    x = rng.standard_normal((400, 8))
    x[:, 0] += 10.0 * (sublabels % 2)  # neuron 0 separates the two subclasses of each superclass
    trained = c1(x, labels, sublabels, k=1)
    control = c1(x, labels, shuffle_within_superclass(labels, sublabels, seed=0), k=1)
    assert trained > 2.0 and control < 0.5


def test_pixel_layer_normalizes_per_channel_and_flattens():
    images = np.arange(2 * 2 * 2 * 3, dtype=np.uint8).reshape(2, 2, 2, 3)
    out = pixel_layer(images, mean=[1.0, 2.0], std=[2.0, 4.0])
    assert out.shape == (2, 12) and out.dtype == np.float32
    assert out[0, 0] == pytest.approx((0 - 1.0) / 2.0) and out[1, 6] == pytest.approx((18 - 2.0) / 4.0)
    with pytest.raises(ValueError, match="N, C, H, W"):
        pixel_layer(images[0], [0.0], [1.0])


def test_control_verdicts_count_oriented_wins():
    df = pd.DataFrame(
        {
            "c3": [0.5, 0.6, 0.7, 0.8],
            control_column("c3", "untrained"): [0.1, 0.2, 0.3, 0.4],  # beaten by every run
            control_column("c3", "pixels"): [0.65] * 4,  # beaten by 2 of 4
            "c1": [1.0, 2.0, 3.0, np.nan],
            control_column("c1", "shuffled"): [0.5, 2.5, 2.0, 1.0],  # beaten by 2 of the 3 runs with both
        }
    )
    verdicts = control_verdicts(df).set_index(["measure", "control"])
    assert verdicts.loc[("c3", "untrained"), "verdict"] == "beats"
    assert verdicts.loc[("c3", "pixels"), "beaten_fraction"] == 0.5
    assert verdicts.loc[("c3", "pixels"), "verdict"] == "does not beat"
    assert verdicts.loc[("c1", "shuffled"), "n_runs"] == 3
    assert verdicts.loc[("c1", "shuffled"), "beaten_fraction"] == pytest.approx(2 / 3)
    assert verdicts.loc[("c1", "shuffled"), "verdict"] == "mostly beats"
    with pytest.raises(ValueError, match="unknown control"):
        control_column("c1", "random")
