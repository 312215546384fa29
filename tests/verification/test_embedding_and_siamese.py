"""embedding_model and siamese_classifier: shapes, unit norm, chi-square form, save/load, collapse check."""

import harness
import keras
import numpy as np
import pytest

from dlkit import models
from dlkit.errors import ConfigError, TrainingError
from dlkit.verification import (
    L2Normalize,
    PairDifference,
    check_spread,
    embedding_model,
    siamese_classifier,
)


def tiny_backbone():
    # The recipe's backbone (flattened maps, dropout 0.3) at 8x8 with two narrow blocks.
    return models.small_cnn((8, 8, 1), include_top=False, pooling="flatten", filters=(4, 8), dropout=0.3,
                            name="small_convnet")


def tiny_embedding(dim=8):
    return embedding_model(tiny_backbone(), dim)


def test_embeddings_are_unit_vectors_and_zero_stays_finite():
    model = tiny_embedding()
    images = np.random.default_rng(0).random((5, 8, 8, 1)).astype("float32")
    embeddings = model.predict(images, verbose=0)
    assert embeddings.shape == (5, 8)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, rtol=1e-5)
    zero = L2Normalize()(np.zeros((2, 3), "float32"))
    np.testing.assert_array_equal(np.asarray(zero), 0.0)
    assert [layer.name for layer in model.layers[-2:]] == ["embedding_dense", "embedding_l2"]


def test_feature_map_backbone_is_pooled():
    inputs = keras.Input((6, 6, 2))
    backbone = keras.Model(inputs, keras.layers.Conv2D(3, 3)(inputs))
    model = embedding_model(backbone, 4)
    assert model.get_layer("embedding_pool") is not None and model.output_shape == (None, 4)


def test_pair_difference_forms_equal_numpy():
    rng = np.random.default_rng(0)
    first, second = rng.normal(size=(4, 5)).astype("float32"), rng.normal(size=(4, 5)).astype("float32")
    second[0] = -first[0]  # |f1| + |f2| > 0 but f1 + f2 = 0: the signed chi-square would divide by 0
    np.testing.assert_allclose(PairDifference("absolute")(first, second), np.abs(first - second), rtol=1e-6)
    chi = (first - second) ** 2 / (np.abs(first) + np.abs(second))
    np.testing.assert_allclose(PairDifference("chi_square")(first, second), chi, rtol=1e-5)
    zeros = np.zeros((1, 5), "float32")
    np.testing.assert_array_equal(np.asarray(PairDifference("chi_square")(zeros, zeros)), 0.0)


@pytest.mark.parametrize("form", ["absolute", "chi_square"])
def test_siamese_and_embedding_models_round_trip(tmp_path, form):
    model = siamese_classifier(tiny_embedding(), form)
    rng = np.random.default_rng(1)
    pairs = {"first": rng.random((3, 8, 8, 1), "float32"), "second": rng.random((3, 8, 8, 1), "float32")}
    probability = model.predict(pairs, verbose=0)
    assert probability.shape == (3, 1) and np.all((probability > 0) & (probability < 1))
    loaded = harness.assert_round_trip(model, tmp_path / "siamese.keras", pairs)
    np.testing.assert_allclose(loaded.predict(pairs, verbose=0), probability, rtol=1e-6)
    # The pair's order does not matter: both forms are symmetric.
    swapped = {"first": pairs["second"], "second": pairs["first"]}
    np.testing.assert_allclose(model.predict(swapped, verbose=0), probability, rtol=1e-5)


def test_bad_arguments():
    with pytest.raises(ConfigError, match="Received: dim=0"):
        embedding_model(tiny_backbone(), 0)
    with pytest.raises(ConfigError, match="Received: form='ratio'"):
        PairDifference("ratio")
    with pytest.raises(ConfigError, match="Received: str"):
        siamese_classifier("resnet")


def test_zoo_backbone_by_name(tmp_path):
    model = embedding_model("lenet5", 16, input_shape=(32, 32, 1))
    assert model.output_shape == (None, 16) and model.get_layer("lenet5") is not None
    images = np.random.default_rng(2).random((2, 32, 32, 1)).astype("float32")
    loaded = harness.assert_round_trip(model, tmp_path / "embedding.keras", images)
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0), rtol=1e-6)


def test_check_spread_refuses_a_collapsed_or_non_finite_embedding():
    spread = check_spread(np.eye(4, dtype="float32"))
    assert spread == pytest.approx(np.std([1, 0, 0, 0]))
    with pytest.raises(TrainingError, match="collapsed.*Lower the learning rate"):
        check_spread(np.ones((8, 4), "float32"))
    with pytest.raises(TrainingError, match=r"mean spread nan\).* Received: x"):
        check_spread(np.full((8, 4), np.nan, "float32"), advice="Received: x")
