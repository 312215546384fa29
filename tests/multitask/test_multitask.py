"""Masked multi-task losses and metrics against NumPy/scikit-learn references; heads; save/load."""

import harness
import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.metrics import roc_auc_score

from dlkit import multitask
from dlkit.errors import ConfigError


def _labels(rng, shape=(64, 5), missing=0.3, positive=0.4):
    truth = (rng.random(shape) < positive).astype(np.float32)
    hidden = rng.random(shape) < missing
    return truth, np.where(hidden, -1.0, truth).astype(np.float32)


def _bce(truth, probabilities):
    probabilities = np.clip(probabilities.astype(np.float64), 1e-7, 1 - 1e-7)
    return -(truth * np.log(probabilities) + (1 - truth) * np.log(1 - probabilities))


def test_masked_bce_equals_numpy_mean_over_observed_labels():
    rng = np.random.default_rng(0)
    truth, labels = _labels(rng)
    logits = rng.normal(0, 2, truth.shape).astype(np.float32)
    probabilities = 1 / (1 + np.exp(-logits))
    observed = labels >= 0
    expected = _bce(truth, probabilities)[observed].mean()
    from_probabilities = multitask.MaskedBinaryCrossentropy()(labels, probabilities)
    from_logits = multitask.MaskedBinaryCrossentropy(from_logits=True)(labels, logits)
    np.testing.assert_allclose(float(from_probabilities), expected, rtol=1e-5)
    np.testing.assert_allclose(float(from_logits), expected, rtol=1e-5)


def test_masked_bce_keeps_its_scale_when_half_the_labels_go_missing():
    rng = np.random.default_rng(1)
    truth = (rng.random((32, 4)) < 0.5).astype(np.float32)
    probabilities = rng.uniform(0.05, 0.95, truth.shape).astype(np.float32)
    full = float(multitask.MaskedBinaryCrossentropy()(truth, probabilities))
    np.testing.assert_allclose(full, float(keras.losses.BinaryCrossentropy()(truth, probabilities)), rtol=1e-5)
    # Append as many labels again, all missing, with arbitrary predictions: half the labels are now unknown.
    labels = np.concatenate([truth, -np.ones_like(truth)], axis=1)
    predictions = np.concatenate([probabilities, rng.uniform(0.05, 0.95, truth.shape).astype(np.float32)], axis=1)
    half_missing = float(multitask.MaskedBinaryCrossentropy()(labels, predictions))
    np.testing.assert_allclose(half_missing, full, rtol=1e-5)
    # The pitfall it avoids: zeroing missing terms but dividing by every entry halves the loss.
    naive = (_bce(np.clip(labels, 0, 1), predictions) * (labels >= 0)).mean()
    np.testing.assert_allclose(naive, full / 2, rtol=1e-4)


@pytest.mark.parametrize("from_logits", [False, True])
def test_missing_labels_give_zero_gradient(from_logits):
    rng = np.random.default_rng(2)
    _, labels = _labels(rng, (16, 6), missing=0.5)
    values = rng.normal(0, 1, labels.shape) if from_logits else rng.uniform(0.05, 0.95, labels.shape)
    predictions = tf.Variable(values.astype(np.float32))
    with tf.GradientTape() as tape:
        loss = multitask.MaskedBinaryCrossentropy(from_logits=from_logits)(labels, predictions)
    gradient = tape.gradient(loss, predictions).numpy()
    assert np.all(gradient[labels < 0] == 0)
    assert np.all(gradient[labels >= 0] != 0)


def test_all_labels_missing_gives_zero_loss_and_zero_gradient():
    labels = -np.ones((4, 3), np.float32)
    predictions = tf.Variable(np.full((4, 3), 0.3, np.float32))
    with tf.GradientTape() as tape:
        loss = multitask.MaskedBinaryCrossentropy()(labels, predictions)
    assert float(loss) == 0.0
    assert np.all(tape.gradient(loss, predictions).numpy() == 0)
    accuracy = multitask.MaskedBinaryAccuracy()
    accuracy.update_state(labels, predictions)
    auc = multitask.MaskedAUC(num_labels=3)
    auc.update_state(labels, predictions)
    assert float(accuracy.result()) == 0.0 and np.isfinite(float(auc.result()))


def test_masked_accuracy_and_auc_match_numpy_and_sklearn():
    rng = np.random.default_rng(3)
    truth, labels = _labels(rng, (400, 3))
    scores = np.clip(truth * 0.35 + rng.random(truth.shape) * 0.65, 0, 1).astype(np.float32)
    observed = labels >= 0
    accuracy = multitask.MaskedBinaryAccuracy()
    accuracy.update_state(labels[:200], scores[:200])
    accuracy.update_state(labels[200:], scores[200:])
    np.testing.assert_allclose(float(accuracy.result()), ((scores > 0.5) == truth)[observed].mean(), rtol=1e-6)
    per_label = [roc_auc_score(truth[observed[:, j], j], scores[observed[:, j], j]) for j in range(3)]
    mean_auc = multitask.MaskedAUC(num_labels=3, num_thresholds=1000)
    mean_auc.update_state(labels, scores)
    np.testing.assert_allclose(float(mean_auc.result()), np.mean(per_label), atol=2e-3)
    for index in range(3):
        one = multitask.MaskedAUC(label_index=index, num_thresholds=1000)
        one.update_state(labels, scores)
        np.testing.assert_allclose(float(one.result()), per_label[index], atol=2e-3)


def _localization_reference(truth, predicted, box_weight=5.0):
    present = truth[:, 0]
    objectness = _bce(present, predicted[:, 0])
    box = ((predicted[:, 1:5] - truth[:, 1:5]) ** 2).sum(axis=1)
    classes = -(truth[:, 5:] * np.log(np.clip(predicted[:, 5:], 1e-7, 1))).sum(axis=1)
    return np.mean(objectness + present * (box_weight * box + classes))


def _localization_batch(rng, size=12, num_classes=3):
    present = (np.arange(size) % 3 != 0).astype(np.float32)
    corners = np.sort(rng.random((size, 2, 2)), axis=1)
    boxes = np.stack([corners[:, 0, 0], corners[:, 0, 1], corners[:, 1, 0], corners[:, 1, 1]], axis=1)
    classes = np.eye(num_classes)[rng.integers(num_classes, size=size)] * present[:, None]
    truth = np.concatenate([present[:, None], np.where(present[:, None] > 0, boxes, -1), classes], axis=1)
    logits = rng.normal(0, 1, (size, num_classes))
    predicted = np.concatenate(
        [rng.uniform(0.05, 0.95, (size, 1)), rng.random((size, 4)), np.exp(logits) / np.exp(logits).sum(1, keepdims=True)],
        axis=1,
    )
    return truth.astype(np.float32), predicted.astype(np.float32)


def test_localization_loss_equals_numpy_and_ignores_box_and_class_without_object():
    rng = np.random.default_rng(4)
    truth, predicted = _localization_batch(rng)
    # The reference sees zeros where the target has padding, which the present-mask removes anyway.
    expected = _localization_reference(np.where(truth < 0, 0, truth), predicted)
    np.testing.assert_allclose(float(multitask.LocalizationLoss()(truth, predicted)), expected, rtol=1e-5)
    variable = tf.Variable(predicted)
    with tf.GradientTape() as tape:
        loss = multitask.LocalizationLoss()(truth, variable)
    gradient = tape.gradient(loss, variable).numpy()
    empty = truth[:, 0] == 0
    assert np.all(gradient[empty, 1:] == 0) and np.all(gradient[empty, 0] != 0)
    assert np.all(gradient[~empty, 1:5] != 0)


def test_masked_mse_and_mae_skip_missing_coordinates():
    rng = np.random.default_rng(5)
    truth = rng.random((10, 6)).astype(np.float32)
    truth[::3] = -1  # images without an object
    predicted = rng.random((10, 6)).astype(np.float32)
    observed = truth >= 0
    expected_mse = ((predicted - truth) ** 2)[observed].mean()
    np.testing.assert_allclose(float(multitask.MaskedMeanSquaredError()(truth, predicted)), expected_mse, rtol=1e-5)
    mae = multitask.MaskedMeanAbsoluteError()
    mae.update_state(truth, predicted)
    np.testing.assert_allclose(float(mae.result()), np.abs(predicted - truth)[observed].mean(), rtol=1e-5)


def test_localization_metrics_and_box_iou():
    rng = np.random.default_rng(6)
    truth, predicted = _localization_batch(rng, size=30)
    present = truth[:, 0] > 0.5
    accuracy = multitask.LocalizationClassAccuracy()
    accuracy.update_state(truth, predicted)
    expected = np.mean(truth[present, 5:].argmax(1) == predicted[present, 5:].argmax(1))
    np.testing.assert_allclose(float(accuracy.result()), expected, rtol=1e-6)
    # Brute-force IoU on a fine pixel grid.
    grid = (np.arange(400) + 0.5) / 400
    xs, ys = np.meshgrid(grid, grid)

    def raster(box):
        return (xs >= box[0]) & (xs < box[2]) & (ys >= box[1]) & (ys < box[3])

    brute = [
        (raster(a) & raster(b)).sum() / max((raster(a) | raster(b)).sum(), 1)
        for a, b in zip(truth[present, 1:5], predicted[present, 1:5])
    ]
    iou = multitask.LocalizationIoU()
    iou.update_state(truth, predicted)
    np.testing.assert_allclose(float(iou.result()), np.mean(brute), atol=0.01)
    # Zero-area boxes give IoU 0, not NaN.
    degenerate = np.zeros((2, 8), np.float32)
    degenerate[:, 0] = 1
    degenerate[1, 1:5] = [0.1, 0.1, 0.2, 0.2]
    iou = multitask.LocalizationIoU()
    iou.update_state(np.concatenate([degenerate[:1], degenerate[:1]]), degenerate)
    assert float(iou.result()) == 0.0


def test_localization_scores_equal_the_keras_metrics():
    # The recipe's test-set scores and the head's training metrics are one computation (the detection IoU).
    rng = np.random.default_rng(8)
    truth, predicted = _localization_batch(rng, size=50)
    predicted[:5, 1:5] = predicted[:5, [1, 2, 1, 2]]  # zero-area boxes give 0
    points = rng.random((50, 6)).astype(np.float32)
    scores = multitask.localization_scores(truth, predicted, points, points, image_size=32)
    for name, metric in (("mean_iou", multitask.LocalizationIoU()),
                         ("class_accuracy", multitask.LocalizationClassAccuracy())):
        metric.update_state(truth, predicted)
        np.testing.assert_allclose(scores[name], float(metric.result()), atol=1e-6)
    assert scores["landmark_error_pixels"] == 0.0
    np.testing.assert_allclose(scores["objectness_accuracy"], np.mean((predicted[:, 0] > 0.5) == (truth[:, 0] > 0.5)))


def _trunk():
    inputs = keras.Input((16, 16, 3))
    features = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    return keras.Model(inputs, features, name="tiny_trunk")


ALL_KINDS = {
    "labels": {"kind": "multilabel", "units": 3, "label_names": ["a", "b", "c"], "loss_weight": 2.0},
    "digit": {"kind": "softmax", "units": 4},
    "size": {"kind": "regression", "units": 1},
    "object": {"kind": "localization", "units": 3, "hidden": 8},
    "points": {"kind": "landmarks", "units": 6},
}


def _targets(rng, size):
    truth, _ = _localization_batch(rng, size=size)
    _, labels = _labels(rng, (size, 3))
    points = rng.random((size, 6)).astype(np.float32)
    points[truth[:, 0] == 0] = -1
    return {
        "labels": labels,
        "digit": rng.integers(4, size=size).astype(np.int32),
        "size": rng.random((size, 1)).astype(np.float32),
        "object": truth,
        "points": points,
    }


def test_build_multitask_outputs_losses_and_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(7)
    spec = multitask.build_multitask(_trunk(), ALL_KINDS)
    model = spec.model
    assert set(model.output_names) == set(ALL_KINDS)
    assert spec.loss_weights["labels"] == 2.0 and isinstance(spec.loss["labels"], multitask.MaskedBinaryCrossentropy)
    assert isinstance(spec.loss["object"], multitask.LocalizationLoss)
    assert [metric.name for metric in spec.metrics["labels"]] == ["accuracy", "auc", "auc_a", "auc_b", "auc_c"]
    images = rng.random((12, 16, 16, 3)).astype(np.float32)
    targets = _targets(rng, 12)
    model.compile(keras.optimizers.Adam(1e-2), **spec.compile_arguments())
    model.fit(images, targets, epochs=1, batch_size=6, verbose=0)
    outputs = model.predict(images, verbose=0)
    assert outputs["object"].shape == (12, 8) and outputs["points"].shape == (12, 6)
    np.testing.assert_allclose(outputs["object"][:, 5:].sum(axis=1), 1, rtol=1e-5)

    loaded = harness.assert_round_trip(model, tmp_path / "multitask.keras", images)
    assert isinstance(loaded.loss["labels"], multitask.MaskedBinaryCrossentropy)
    before = model.evaluate(images, targets, verbose=0, return_dict=True)
    after = loaded.evaluate(images, targets, verbose=0, return_dict=True)
    for key in ("loss", "labels_auc_a", "object_iou", "object_class_accuracy", "points_mae"):
        np.testing.assert_allclose(after[key], before[key], rtol=1e-5)


@pytest.mark.parametrize(
    "item",
    [
        multitask.MaskedBinaryCrossentropy(missing_label=-2, from_logits=True),
        multitask.MaskedMeanSquaredError(missing_value=-5),
        multitask.LocalizationLoss(box_weight=2.0),
        multitask.MaskedBinaryAccuracy(threshold=0.3),
        multitask.MaskedAUC(label_index=1, num_thresholds=50, name="auc_x"),
        multitask.MaskedMeanAbsoluteError(),
        multitask.LocalizationIoU(),
        multitask.LocalizationClassAccuracy(),
    ],
)
def test_configs_round_trip(item):
    config = keras.saving.serialize_keras_object(item)
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(item) and clone.get_config() == item.get_config()


def test_bad_specs_raise_config_errors():
    with pytest.raises(ConfigError, match="Received: kind='segmentation'"):
        multitask.build_multitask(_trunk(), {"x": {"kind": "segmentation", "units": 2}})
    with pytest.raises(ConfigError, match="Received: units=0"):
        multitask.build_multitask(_trunk(), {"x": {"kind": "multilabel", "units": 0}})
    with pytest.raises(ConfigError, match="Received: tasks={}"):
        multitask.build_multitask(_trunk(), {})
    with pytest.raises(ConfigError, match="Received: units=2.5"):
        multitask.multilabel_head(2.5)


def test_heads_stay_float32_under_mixed_precision():
    keras.config.set_dtype_policy("mixed_float16")  # conftest restores float32 afterwards
    spec = multitask.build_multitask(_trunk(), ALL_KINDS)
    assert {name: tensor.dtype for name, tensor in zip(spec.model.output_names, spec.model.outputs)} == {
        name: "float32" for name in ALL_KINDS
    }
