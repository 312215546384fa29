"""extract_features: the features of the extractor, written to a .npz cache and reused."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dlkit import transfer
from dlkit.errors import ConfigError, DatasetError

IMAGES = np.random.default_rng(0).uniform(0, 255, (10, 32, 32, 3)).astype("float32")
LABELS = np.arange(10, dtype="int32") % 3


class CountingData:
    """A dataset made from a generator that counts how often it is read."""

    def __init__(self):
        self.reads = 0

    def __call__(self):
        self.reads += 1
        yield from zip(IMAGES, LABELS)

    def dataset(self):
        signature = (tf.TensorSpec((32, 32, 3), tf.float32), tf.TensorSpec((), tf.int32))
        return tf.data.Dataset.from_generator(self, output_signature=signature).batch(4)


@pytest.fixture
def extractor():
    return transfer.build_feature_extractor("vgg_tiny", input_shape=(32, 32, 3), pooling="avg")


def test_features_equal_the_extractor_and_the_cache_is_reused(extractor, tmp_path):
    data = CountingData()
    cache = tmp_path / "features" / "train.npz"
    features, labels = transfer.extract_features(extractor, data.dataset(), cache=cache)
    assert cache.is_file() and data.reads == 1
    np.testing.assert_allclose(features, extractor.predict(IMAGES, verbose=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(labels, LABELS)
    again, again_labels = transfer.extract_features(extractor, data.dataset(), cache=cache)
    assert data.reads == 1  # read from the cache: neither the data nor the extractor ran
    np.testing.assert_array_equal(again, features)
    np.testing.assert_array_equal(again_labels, labels)


def test_a_cache_from_another_extractor_is_recomputed(extractor, tmp_path):
    cache = tmp_path / "train.npz"
    data = CountingData()
    transfer.extract_features(extractor, data.dataset(), cache=cache)
    other = transfer.build_feature_extractor("vgg_tiny", input_shape=(32, 32, 3), pooling="max", name="other")
    with pytest.warns(UserWarning, match="recomputing"):
        features, _ = transfer.extract_features(other, data.dataset(), cache=cache)
    assert data.reads == 2
    np.testing.assert_allclose(features, other.predict(IMAGES, verbose=0), rtol=1e-5, atol=1e-6)


def test_feature_maps_are_pooled_and_unlabelled_data_works(tmp_path):
    base, _ = transfer.load_backbone("vgg_tiny", input_shape=(32, 32, 3))  # 4-D output
    maps = keras.ops.convert_to_numpy(base(IMAGES))
    features, labels = transfer.extract_features(
        base, tf.data.Dataset.from_tensor_slices(IMAGES).batch(4), pooling="max"
    )
    assert labels is None
    np.testing.assert_allclose(features, maps.max(axis=(1, 2)), rtol=1e-5, atol=1e-6)


def test_head_trained_on_cached_features_attaches_to_its_extractor(extractor):
    features, labels = transfer.extract_features(
        extractor, tf.data.Dataset.from_tensor_slices((IMAGES, LABELS)).batch(5)
    )
    result = transfer.train_head(features, labels, 3, epochs=2, verbose=0)
    full = transfer.attach_head(extractor, result.model)
    np.testing.assert_allclose(
        full.predict(IMAGES, verbose=0), result.model.predict(features, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_bad_inputs(extractor, tmp_path):
    empty = tf.data.Dataset.from_tensor_slices((IMAGES[:0], LABELS[:0])).batch(4)
    with pytest.raises(DatasetError, match="no examples"):
        transfer.extract_features(extractor, empty)
    with pytest.raises(ConfigError, match="Received: cache="):
        transfer.extract_features(extractor, empty, cache=tmp_path / "features.pkl")
