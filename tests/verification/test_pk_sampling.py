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
