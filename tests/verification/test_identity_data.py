"""Identity data: digits identities, transformed identities, identity splits, TFDS lfw (mock data)."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from dlkit.data import tfds_source
from dlkit.errors import ConfigError, DatasetError
from dlkit.verification import load_identities, split_identities, transformed_identities


def test_digits_identities_and_an_identity_disjoint_split():
    from sklearn.datasets import load_digits

    identities = load_identities("digits")
    digits = load_digits()
    assert identities.images.shape == (1797, 8, 8, 1) and identities.names[3] == "digit 3"
    np.testing.assert_allclose(np.sort(identities.images.reshape(1797, -1).sum(1)), np.sort(digits.data.sum(1) / 16))
    seen, unseen = split_identities(identities, 4, seed=0)
    assert len(unseen.identities) == 4 and len(seen.identities) == 6
    assert not set(seen.identities) & set(unseen.identities) and len(seen) + len(unseen) == 1797
    assert load_identities("digits", image_size=16).images.shape == (1797, 16, 16, 1)


def test_transformed_identities_are_new_identities():
    identities = load_identities("digits").subset([1, 6])
    grown = transformed_identities(identities)
    assert len(grown.identities) == 14 and len(grown) == 7 * len(identities)
    rotated = grown.images[grown.labels == 6 * 7 + 1]  # digit 6, first transform (rot90)
    np.testing.assert_array_equal(rotated, np.rot90(identities.images[identities.labels == 6], 1, axes=(1, 2)))
    assert grown.names[6 * 7 + 1] == "digit 6 rot90"


def test_lfw_through_tfds_mock_data(monkeypatch, tmp_path):
    monkeypatch.setattr(tfds_source, "network_available", lambda *args, **kwargs: True)
    with tfds.testing.mock_data(num_examples=12, data_dir=str(tmp_path)):
        identities = load_identities("lfw", data_dir=str(tmp_path), image_size=32, min_images=1)
    assert identities.images.shape[1:] == (32, 32, 3) and len(identities) == 12
    assert identities.images.min() >= 0 and identities.images.max() <= 1
    assert len(identities.names) == len(set(identities.names)) and identities.labels.max() < len(identities.names)


def test_lfw_offline_fails_fast(monkeypatch, tmp_path):
    monkeypatch.setattr(tfds_source, "network_available", lambda *args, **kwargs: False)
    with pytest.raises(DatasetError, match="'lfw' is not prepared"):
        load_identities("lfw", data_dir=str(tmp_path))


def test_bad_arguments():
    with pytest.raises(ConfigError, match="Received: 'olivetti'"):
        load_identities("olivetti")
    with pytest.raises(ConfigError, match="Received: num_unseen=9"):
        split_identities(load_identities("digits"), 9)
