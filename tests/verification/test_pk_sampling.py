"""pk_batches: exactly P identities x K examples in every batch."""

import numpy as np
import pytest
import tensorflow as tf

from dlkit.errors import ConfigError, DatasetError
from dlkit.verification import pk_batches


def toy(counts):
    labels = np.repeat(np.arange(len(counts)), counts)
    images = np.arange(len(labels), dtype="float32")[:, None]  # image value = its row, to trace draws
    return images, labels


@pytest.mark.parametrize("p,k", [(2, 2), (3, 4), (5, 3)])
def test_every_batch_is_p_identities_times_k_examples(p, k):
    images, labels = toy([5, 3, 10, 1, 4, 2, 7])
    dataset = pk_batches((images, labels), p, k, num_batches=25, seed=3)
    assert int(dataset.cardinality()) == 25
    for batch_images, batch_labels in dataset:
        batch_labels = batch_labels.numpy()
        identities, per_identity = np.unique(batch_labels, return_counts=True)
        assert len(batch_labels) == p * k and len(identities) == p and set(per_identity) == {k}
        assert 3 not in identities  # one example only: never drawn (no positive for it)
        rows = batch_images.numpy()[:, 0].astype(int)
        np.testing.assert_array_equal(labels[rows], batch_labels)  # images match their labels
        for identity in identities:
            drawn = rows[batch_labels == identity]
            distinct = min(k, int(np.sum(labels == identity)))
            assert len(set(drawn)) == distinct  # without replacement while the identity has enough


def test_same_seed_same_batches_and_new_batches_each_epoch():
    images, labels = toy([6] * 8)
    fresh = [x.numpy() for x, _ in pk_batches((images, labels), 3, 2, num_batches=4, seed=7)]
    dataset = pk_batches((images, labels), 3, 2, num_batches=4, seed=7)
    epoch_one = [x.numpy() for x, _ in dataset]
    epoch_two = [x.numpy() for x, _ in dataset]
    assert all(np.array_equal(a, b) for a, b in zip(fresh, epoch_one))
    assert not all(np.array_equal(a, b) for a, b in zip(epoch_one, epoch_two))


def test_accepts_an_unbatched_tf_dataset():
    images, labels = toy([3, 3, 3])
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    batch_images, batch_labels = next(iter(pk_batches(dataset, 2, 3, num_batches=1)))
    assert batch_images.shape == (6, 1) and batch_labels.shape == (6,)


def test_bad_arguments():
    images, labels = toy([3, 1, 1])
    with pytest.raises(DatasetError, match="Received: 1 such identities"):
        pk_batches((images, labels), 2, 2)
    with pytest.raises(ConfigError, match="Received: k=1"):
        pk_batches((images, labels), 2, 1)
    with pytest.raises(ConfigError, match="Received: p=1"):
        pk_batches((images, labels), 1, 2)


def test_augment_batches_jitters_images_and_keeps_labels():
    from dlkit.verification import augment_batches

    rng = np.random.default_rng(0)
    images = rng.uniform(size=(40, 16, 16, 1)).astype("float32")
    labels = np.repeat(np.arange(8), 5)
    batches = tf.data.Dataset.from_tensor_slices((images, labels)).batch(12, drop_remainder=True)  # 3 batches
    plain = [(x.numpy(), y.numpy()) for x, y in batches]
    still = [x.numpy() for x, _ in augment_batches(batches, shift=0, zoom=0, rotation=0, shear=0)]
    assert all(np.allclose(a, b, atol=1e-6) for (a, _), b in zip(plain, still))  # no jitter: unchanged
    jittered = augment_batches(batches, seed=2)
    assert int(jittered.cardinality()) == 3
    epoch_one = [(x.numpy(), y.numpy()) for x, y in jittered]
    epoch_two = [x.numpy() for x, _ in jittered]
    for (x, y), (original, original_labels) in zip(epoch_one, plain):
        assert x.shape == original.shape and x.dtype == np.float32
        np.testing.assert_array_equal(y, original_labels)
        assert not np.allclose(x, original) and np.all(np.isfinite(x)) and 0 <= x.min() and x.max() <= 1
    again = [x.numpy() for x, _ in augment_batches(batches, seed=2)]
    assert all(np.array_equal(a, b) for (a, _), b in zip(epoch_one, again))  # same seed, same jitter
    assert not all(np.array_equal(a, b) for (a, _), b in zip(epoch_one, epoch_two))  # new jitter each epoch


def test_augment_batches_shifts_and_rotates_about_the_centre():
    from dlkit.verification import augment_batches

    image = np.zeros((64, 9, 9, 1), "float32")
    image[:, 4, 6] = 1.0  # two pixels right of the centre
    batches = tf.data.Dataset.from_tensors((image, np.zeros(64, "int32")))
    rows, columns = np.mgrid[:9, :9]

    def centroids(jittered):
        mass = jittered.numpy()[..., 0]
        total = mass.sum(axis=(1, 2))
        return (mass * rows).sum(axis=(1, 2)) / total - 4, (mass * columns).sum(axis=(1, 2)) / total - 4

    turned, _ = next(iter(augment_batches(batches, shift=0, zoom=0, rotation=0.25, shear=0, seed=0)))
    dy, dx = centroids(turned)
    # Rotations of up to a quarter turn each way about the centre: the pixel stays two pixels away from it.
    np.testing.assert_allclose(np.hypot(dy, dx), 2.0, atol=0.35)
    assert dx.min() > -0.1 and dy.min() < -1 and dy.max() > 1
    moved, _ = next(iter(augment_batches(batches, shift=0.2, zoom=0, rotation=0, shear=0, seed=0)))
    dy, dx = centroids(moved)
    # Shifts of up to 0.2 x 9 = 1.8 pixels along each axis.
    assert np.all(np.abs(dy) <= 1.81) and np.all(np.abs(dx - 2) <= 1.81) and dy.std() > 0.5
    with pytest.raises(ConfigError, match="Received: zoom=2"):
        augment_batches(batches, zoom=2)
