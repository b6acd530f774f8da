"""The split is deterministic and the pipeline yields batches of the right shape."""

from digits.data import load_arrays, make_dataset


def test_the_split_depends_only_on_the_seed():
    first, second = load_arrays(7), load_arrays(7)
    assert all((a == b).all() for a, b in zip(first, second, strict=True))
    assert len(first[0]) == 1437 and len(first[1]) == 360


def test_batches_have_the_expected_shape():
    x_train, _, y_train, _ = load_arrays(1)
    images, labels = next(iter(make_dataset(x_train, y_train, 32, seed=1, training=True)))
    assert images.shape == (32, 64) and labels.shape == (32,)
