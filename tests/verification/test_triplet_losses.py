"""TripletLoss and its diagnostics against plain NumPy loops over every triplet."""

import zlib

import keras
import numpy as np
import pytest
import tensorflow as tf
import triplet_reference as reference

from dlkit.errors import ConfigError
from dlkit.verification import (
    ActiveTripletFraction,
    MeanNegativeDistance,
    MeanPositiveDistance,
    TripletLoss,
    mining,
    pairwise_distances,
)

CASES = 300


def random_case(rng):
    """Random embeddings and labels; dim >= 2 so no two distances tie by accident."""
    size = int(rng.integers(2, 13))
    labels = rng.integers(0, int(rng.integers(1, 5)), size)
    embeddings = rng.normal(size=(size, int(rng.integers(2, 6)))).astype("float32")
    return labels, embeddings, float(rng.uniform(0.0, 1.5))


@pytest.mark.parametrize("distance", ["squared_l2", "l2", "cosine"])
def test_pairwise_distances_equal_the_loop(distance):
    rng = np.random.default_rng(1)
    for _ in range(50):
        _, embeddings, _ = random_case(rng)
        got = np.asarray(pairwise_distances(embeddings, distance))
        np.testing.assert_allclose(got, reference.distance_matrix(embeddings, distance), atol=2e-5)


@pytest.mark.parametrize("mode", mining.MINING)
@pytest.mark.parametrize("distance", ["squared_l2", "l2", "cosine"])
def test_each_mining_mode_equals_the_brute_force_loop(mode, distance):
    rng = np.random.default_rng(zlib.crc32(f"{mode}-{distance}".encode()))  # stable across processes
    seen_positive_loss = 0
    for _ in range(CASES):
        labels, embeddings, margin = random_case(rng)
        got = float(TripletLoss(margin, mode, distance)(labels, embeddings))
        want = reference.LOSSES[mode](reference.distance_matrix(embeddings, distance), labels, margin)
        assert got == pytest.approx(want, rel=1e-4, abs=1e-5)
        seen_positive_loss += want > 0
    assert seen_positive_loss > CASES // 3  # the cases exercise the hinge, not only zeros


def test_semi_hard_equals_tf_addons_own_algorithm():
    # TF Addons' tiled-mask formulation, transcribed, on batches where every anchor has a
    # positive pair and a negative (the P x K setting; elsewhere TF Addons divides by 0).
    rng = np.random.default_rng(5)
    for _ in range(200):
        identities, per_identity = int(rng.integers(2, 5)), int(rng.integers(2, 4))
        labels = rng.permutation(np.repeat(np.arange(identities), per_identity))
        embeddings = rng.normal(size=(len(labels), 3)).astype("float32")
        margin = float(rng.uniform(0.0, 1.5))
        want = reference.tf_addons_semi_hard(reference.distance_matrix(embeddings, "l2"), labels, margin)
        got = float(TripletLoss(margin, "semi_hard", "l2")(labels, embeddings))
        assert got == pytest.approx(want, rel=1e-4, abs=1e-5)


def test_semi_hard_picks_tf_addons_negative_on_a_hand_made_case():
    # Anchor 0 at 0; positive 1 at distance 1; negatives at 0.5 (hard), 2 and 3 (semi-hard/easy).
    embeddings = np.array([[0.0], [1.0], [0.5], [2.0], [3.0]], "float32")
    labels = np.array([0, 0, 1, 2, 3])
    negatives = np.asarray(mining.semi_hard_negatives(pairwise_distances(embeddings, "l2"), labels))
    assert negatives[0, 1] == pytest.approx(2.0)  # smallest d(a, n) greater than d(a, p) = 1
    # Anchor 1 (at 1.0), positive 0: d = 1; negatives at d = 0.5, 1 (a tie: not farther) and 2.
    assert negatives[1, 0] == pytest.approx(2.0)
    # Far positive: no negative farther, so the largest negative distance.
    far = np.array([[0.0], [10.0], [1.0], [2.0]], "float32")
    far_negatives = np.asarray(mining.semi_hard_negatives(pairwise_distances(far, "l2"), np.array([0, 0, 1, 2])))
    assert far_negatives[0, 1] == pytest.approx(2.0)


def test_no_positive_pair_and_one_identity_give_zero_not_nan():
    embeddings = np.random.default_rng(0).normal(size=(6, 4)).astype("float32")
    for mode in mining.MINING:
        for distance in ("squared_l2", "l2", "cosine"):
            distinct = float(TripletLoss(0.2, mode, distance)(np.arange(6), embeddings))
            single = float(TripletLoss(0.2, mode, distance)(np.zeros(6), embeddings))
            assert distinct == 0.0 and single == 0.0, (mode, distance)
    for metric in (ActiveTripletFraction(), MeanPositiveDistance(), MeanNegativeDistance()):
        metric.update_state(np.zeros(6), embeddings)
        assert np.isfinite(float(metric.result()))


@pytest.mark.parametrize("distance", ["squared_l2", "l2", "cosine"])
def test_gradients_are_finite_at_zero_distance(distance):
    # Identical embeddings (all distances 0) and a zero vector: sqrt and normalization at 0.
    embeddings = tf.Variable(np.concatenate([np.ones((6, 3)), np.zeros((2, 3))]).astype("float32"))
    labels = np.array([0, 0, 1, 1, 2, 2, 0, 1])
    for mode in mining.MINING:
        with tf.GradientTape() as tape:
            loss = TripletLoss(0.2, mode, distance)(labels, embeddings)
        gradient = tape.gradient(loss, embeddings)
        assert np.isfinite(float(loss)) and float(loss) > 0, (mode, distance)
        assert np.all(np.isfinite(gradient.numpy())), (mode, distance)


@pytest.mark.parametrize("mode", mining.MINING)
@pytest.mark.parametrize("distance", ["squared_l2", "l2", "cosine"])
def test_empty_batch_gives_zero_loss_and_finite_gradients(mode, distance):
    labels, embeddings = np.zeros((0,), np.int64), np.zeros((0, 4), np.float32)
    # The brute-force loop has no triplet to average: 0.
    assert reference.LOSSES[mode](reference.distance_matrix(embeddings, distance), labels, 0.2) == 0.0
    loss_function = TripletLoss(0.2, mode, distance)
    layer = keras.layers.Dense(4)
    layer.build((None, 3))
    with tf.GradientTape() as tape:
        loss = loss_function(labels, layer(np.zeros((0, 3), np.float32)))
    gradients = tape.gradient(loss, layer.trainable_variables)
    assert float(loss) == 0.0
    assert all(gradient is not None and np.all(np.asarray(gradient) == 0.0) for gradient in gradients)
    # In a graph whose batch size is unknown until it runs.
    graph = tf.function(loss_function, input_signature=[tf.TensorSpec([None], tf.int64),
                                                        tf.TensorSpec([None, 4], tf.float32)])
    assert float(graph(labels, embeddings)) == 0.0
    for metric in (ActiveTripletFraction(), MeanPositiveDistance(), MeanNegativeDistance()):
        metric.update_state(labels, embeddings)
        assert float(metric.result()) == 0.0


def test_diagnostics_equal_the_loop():
    rng = np.random.default_rng(3)
    for _ in range(50):
        labels, embeddings, margin = random_case(rng)
        want = reference.statistics(reference.distance_matrix(embeddings, "squared_l2"), labels, margin)
        for metric in (ActiveTripletFraction(margin), MeanPositiveDistance(margin), MeanNegativeDistance(margin)):
            metric.update_state(labels, embeddings)
            assert float(metric.result()) == pytest.approx(want[metric.statistic], rel=1e-4, abs=1e-5)


def test_collapsed_embedding_shows_in_the_diagnostics():
    collapsed = np.ones((8, 4), "float32")
    labels = np.repeat(np.arange(4), 2)
    fraction = ActiveTripletFraction(0.2)
    fraction.update_state(labels, collapsed)
    negative = MeanNegativeDistance()
    negative.update_state(labels, collapsed)
    assert float(fraction.result()) == 1.0 and float(negative.result()) == 0.0
    assert float(TripletLoss(0.2, "batch_hard")(labels, collapsed)) == pytest.approx(0.2)


def test_loss_and_metrics_round_trip_through_config_and_a_saved_model(tmp_path):
    loss = TripletLoss(0.3, "batch_all", "cosine")
    clone = keras.losses.deserialize(keras.losses.serialize(loss))
    assert (clone.margin, clone.mining, clone.distance) == (0.3, "batch_all", "cosine")
    metric = keras.metrics.deserialize(keras.metrics.serialize(MeanNegativeDistance(0.3, "l2")))
    assert isinstance(metric, MeanNegativeDistance) and metric.distance == "l2"
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile("adam", loss=loss, metrics=[ActiveTripletFraction(0.3, "cosine")])
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.loss.get_config() == loss.get_config()


def test_bad_arguments_raise_config_errors():
    with pytest.raises(ConfigError, match="Received: mining='hardest'"):
        TripletLoss(mining="hardest")
    with pytest.raises(ConfigError, match="Received: distance='manhattan'"):
        TripletLoss(distance="manhattan")
    with pytest.raises(ConfigError, match="Received: margin=-1"):
        TripletLoss(margin=-1)
