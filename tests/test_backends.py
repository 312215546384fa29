"""The core runs under ``KERAS_BACKEND=jax`` without TensorFlow and computes what it computes under TensorFlow.

One child process runs this file as a script under JAX with ``import
tensorflow`` made to fail (a meta-path finder), so TensorFlow is really absent,
as on the GPU machines that have JAX and PyTorch but no TensorFlow. It imports
dlkit, computes :func:`core_outputs` (zoo forward passes, every loss and metric
of the core, IoU and box formats, the ``keras.ops`` NMS, mAP, triplet mining,
recurrent cells and sequence models, two training steps) and saves them, with a
model saved under JAX. Meanwhile the parent, under TensorFlow, computes the same;
then it compares, and reloads the JAX-saved model. Both sides set every weight
to NumPy draws that depend only on the variable's shape and name
(:func:`set_weights`), so they hold identical weights without waiting for each
other. docs/backends.md lists what runs on which backend.
"""

import importlib.abc
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

#: Float tolerances between backends: float32 kernels (XLA vs TensorFlow's) sum in different orders.
RTOL, ATOL = 2e-4, 2e-5

#: Registered objects the child must have after ``import dlkit`` under JAX without TensorFlow.
CORE_REGISTERED = ("GRUCell", "L2Normalize", "LocalizationLoss", "MaskedAUC", "MaskedBinaryCrossentropy",
                   "TripletLoss", "YoloLoss")

#: YOLO anchors ``(width, height)`` relative to the image.
ANCHORS = ((0.1, 0.15), (0.3, 0.25), (0.5, 0.6))


class NoTensorFlow(importlib.abc.MetaPathFinder):
    """Makes ``import tensorflow`` (and its submodules) fail as it does where TensorFlow is not installed."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "tensorflow":
            raise ModuleNotFoundError(f"No module named {name!r} (tests/test_backends.py)", name=name)
        return None


def _numpy(value):
    import keras

    return np.asarray(keras.ops.convert_to_numpy(value))


def set_weights(layer, seed):
    """Sets every weight of ``layer`` to a NumPy draw that depends only on ``seed`` and the variables' shapes and names.

    Kernels ``N(0, 1/fan_in)``, batch-norm scales and variances ``U(0.5, 1.5)``,
    other vectors ``N(0, 0.1)``: the scales of a fresh initialization, without
    its backend-specific random numbers.
    """
    rng = np.random.default_rng(seed)
    values = []
    for variable in layer.weights:
        shape = tuple(variable.shape)
        if variable.path.endswith(("gamma", "moving_variance")):
            value = rng.uniform(0.5, 1.5, shape)
        elif len(shape) < 2:
            value = rng.normal(0.0, 0.1, shape)
        else:
            value = rng.normal(0.0, 1.0 / np.sqrt(np.prod(shape[:-1])), shape)
        values.append(value.astype(variable.dtype))
    layer.set_weights(values)


def _models():
    """Zoo models, a detector, an embedding model and sequence models, with :func:`set_weights`' weights."""
    import keras

    from dlkit import models, sequence
    from dlkit.detection import yolo_detector
    from dlkit.verification import embedding_model

    keras.utils.set_random_seed(0)
    trunk = models.small_cnn((16, 16, 3), include_top=False, pooling="avg", filters=(8, 16), batch_norm=True)
    built = {
        # Logits, not probabilities near 1/5 that would hide a difference.
        "lenet5": models.lenet5(classifier_activation=None),
        "resnet18": models.resnet18(input_shape=(32, 32, 3), num_classes=5, width_multiplier=0.25,
                                    classifier_activation=None),
        "mobilenet_v2": models.mobilenet_v2(input_shape=(32, 32, 3), include_top=False, pooling="avg", alpha=0.35),
        "yolo": yolo_detector(input_size=(64, 64), anchors=ANCHORS, num_classes=3),
        "embedding": embedding_model(trunk, dim=8),
        "language_model": sequence.language_model(20, embedding_dim=8, units=12, num_layers=2, cell="lstm"),
        "classifier": sequence.sequence_classifier(20, 3, embedding_dim=8, units=6, cell="gru"),
        "tagger": sequence.sequence_tagger(20, 4, embedding_dim=8, units=6, cell="simple"),
    }
    for seed, model in enumerate(built.values()):
        set_weights(model, seed)
    return built


def _compiled(function):
    """``function`` as one XLA program under JAX, eager under TensorFlow.

    Eager JAX compiles each op for its shapes on first use, which made most of
    the child's time; one program per section compiles once.
    """
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(function)
    return function


def _metric(metric, *arguments):
    """A metric's result on one batch, statelessly (so it runs inside :func:`_compiled`)."""
    variables = metric.stateless_update_state([variable.value for variable in metric.variables], *arguments)
    return metric.stateless_result(variables)


def _pure_outputs(arrays):
    """The stateless part of the core: box formats, IoU, NMS, YOLO, triplet, masked and style losses and metrics."""
    from dlkit.detection import (
        FORMATS,
        YoloLoss,
        aligned_iou,
        clip,
        compute_iou,
        convert_format,
        decode,
        encode_targets,
        generalized_iou,
        non_max_suppression,
    )
    from dlkit.models.common import LocalResponseNormalization
    from dlkit.multitask import (
        LocalizationClassAccuracy,
        LocalizationIoU,
        LocalizationLoss,
        MaskedAUC,
        MaskedBinaryAccuracy,
        MaskedBinaryCrossentropy,
        MaskedMeanAbsoluteError,
        MaskedMeanSquaredError,
    )
    from dlkit.style import content_loss, gram_matrix, style_loss, total_variation_loss
    from dlkit.verification import DISTANCES, MINING, TripletLoss, pairwise_distances, triplet_metrics
    from dlkit.verification.mining import triplet_statistics

    out = {}
    boxes, others = arrays["boxes"], arrays["others"]
    for target in FORMATS:
        out[f"convert/{target}"] = convert_format(boxes[:5], "rel_xyxy", target, height=48, width=64)
    out["compute_iou"] = compute_iou(boxes, others)
    out["aligned_iou"] = aligned_iou(boxes, others)
    out["generalized_iou"] = generalized_iou(boxes[:5], others[1:])
    out["clip"] = clip(boxes * 1.5 - 0.2)
    out["lrn"] = LocalResponseNormalization()(arrays["features"])

    detections = non_max_suppression(arrays["nms_boxes"], arrays["nms_scores"], iou_threshold=0.5,
                                     score_threshold=0.1, max_detections=20, implementation="keras")
    out.update({f"nms/{name}": value for name, value in detections.items()})

    anchors = np.array(ANCHORS, "float32")
    targets = encode_targets(arrays["nms_boxes"][:, :4], arrays["true_labels"][:, :4], grid_size=4, anchors=anchors,
                             num_classes=3)
    out["yolo/targets"] = targets
    out["yolo/loss"] = YoloLoss(anchors)(targets, arrays["yolo_predictions"])
    for index, part in enumerate(decode(arrays["yolo_predictions"], anchors)):
        out[f"yolo/decode/{index}"] = part

    embeddings, labels = arrays["embeddings"], arrays["identities"]
    for distance in DISTANCES:
        out[f"distances/{distance}"] = pairwise_distances(embeddings, distance)
        for mining in MINING:
            out[f"triplet/{mining}/{distance}"] = TripletLoss(0.2, mining, distance)(labels, embeddings)
    for metric in triplet_metrics(margin=0.5):
        out[f"triplet_metric/{metric.name}"] = _metric(metric, labels, embeddings)
    statistics = triplet_statistics(pairwise_distances(embeddings), labels, 0.5)
    out.update({f"triplet_statistics/{name}": value for name, value in statistics.items()})

    y_true, y_pred = arrays["multilabel_true"], arrays["multilabel_pred"]
    out["masked/bce"] = MaskedBinaryCrossentropy()(y_true, y_pred)
    out["masked/mse"] = MaskedMeanSquaredError()(y_true, y_pred)
    for metric in (MaskedBinaryAccuracy(), MaskedAUC(), MaskedMeanAbsoluteError()):
        out[f"masked/{metric.name}"] = _metric(metric, y_true, y_pred)
    located, guessed = arrays["located"], arrays["guessed"]
    out["localization/loss"] = LocalizationLoss()(located, guessed)
    for metric in (LocalizationClassAccuracy(), LocalizationIoU()):
        out[f"localization/{metric.name}"] = _metric(metric, located, guessed)

    features, target = arrays["features"], arrays["target_features"]
    out["style/gram"] = gram_matrix(features)
    out["style/content"] = content_loss(features, target)
    out["style/style"] = style_loss({"a": features, "b": features[:, ::2]},
                                    {"a": gram_matrix(target), "b": gram_matrix(target[:, ::2])}, {"a": 0.7, "b": 0.3})
    out["style/total_variation"] = total_variation_loss(features)
    return out


def core_outputs(saved_model=None):
    """The core's outputs on fixed inputs and weights: ``{name: array}``.

    Args:
        saved_model: a ``.keras`` path to save the embedding model to (before its training step).
    """
    import keras
    from keras import ops

    from dlkit import models
    from dlkit.detection import mean_average_precision, shape_iou
    from dlkit.multitask import build_multitask, conv_trunk
    from dlkit.sequence import GRUCell, LSTMCell, SimpleRNNCell
    from dlkit.verification import TripletLoss

    rng = np.random.default_rng(0)
    out = {"registry": np.array(models.names())}
    ids = np.array([[3, 7, 1, 19, 4, 0, 0], [5, 2, 2, 8, 11, 6, 9]], "int32")  # 0 is padding
    for key, model in _models().items():
        inputs = ids if model.input.dtype.startswith("int") else rng.uniform(
            0, 1, (2, *model.input_shape[1:])).astype("float32")
        out[f"forward/{key}"] = _numpy(model.predict_on_batch(inputs))
        if key == "embedding":
            embedding = model
            if saved_model:
                model.save(saved_model)

    # Recurrent cells, weights copied from the parent.
    sequences = rng.normal(size=(2, 5, 3)).astype("float32")
    for seed, cell_class in enumerate((SimpleRNNCell, GRUCell, LSTMCell)):
        layer = keras.layers.RNN(cell_class(4), return_sequences=True)
        layer.build((None, 5, 3))
        set_weights(layer, seed)
        out[f"cell/{cell_class.__name__}"] = _numpy(_compiled(layer)(sequences))

    corners = rng.uniform(0, 0.6, (6, 2))
    boxes = np.concatenate([corners, corners + rng.uniform(0.05, 0.4, (6, 2))], axis=-1).astype("float32")
    boxes[5] = -1.0  # padding
    others = np.where(boxes < 0, boxes, boxes + rng.uniform(-0.05, 0.05, boxes.shape)).astype("float32")
    centers, sizes = rng.uniform(0.2, 0.8, (2, 60, 2)), rng.uniform(0.05, 0.3, (2, 60, 2))
    embeddings = rng.normal(size=(12, 6)).astype("float32")
    multilabel_true = np.array([[1, 0, -1], [0, -1, 1], [1, 1, 0], [-1, -1, -1]], "float32")
    multilabel_pred = rng.uniform(0.01, 0.99, (4, 3)).astype("float32")
    located = np.concatenate([[[1], [0], [1], [1]], boxes[:4], np.eye(3)[[0, 1, 2, 1]]], axis=1).astype("float32")
    arrays = {
        "boxes": boxes,
        "others": others,
        "nms_boxes": np.concatenate([centers - sizes / 2, centers + sizes / 2], axis=-1).astype("float32"),
        "nms_scores": rng.uniform(0, 1, (2, 60, 3)).astype("float32"),
        "true_labels": rng.integers(0, 3, (2, 8)).astype("int32"),
        "yolo_predictions": rng.normal(size=(2, 4, 4, 3, 8)).astype("float32"),
        "embeddings": embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True),
        "identities": np.repeat(np.arange(4), 3).astype("int32"),
        "multilabel_true": multilabel_true,
        "multilabel_pred": multilabel_pred,
        "located": located,
        "guessed": np.concatenate([multilabel_pred[:, :1], others[:4], rng.dirichlet(np.ones(3), 4)],
                                  axis=1).astype("float32"),
        "features": rng.normal(size=(1, 6, 5, 4)).astype("float32"),
        "target_features": rng.normal(size=(1, 6, 5, 4)).astype("float32"),
    }
    out.update({name: _numpy(value) for name, value in _compiled(_pure_outputs)(arrays).items()})
    out["shape_iou"] = shape_iou(boxes[:5, 2:] - boxes[:5, :2], boxes[:3, 2:] - boxes[:3, :2])
    for method in ("voc", "coco"):
        mean, per_class = mean_average_precision(arrays["nms_boxes"][:, :8], arrays["true_labels"], out["nms/boxes"],
                                                 out["nms/classes"], out["nms/scores"], 3, method=method)
        out[f"map/{method}"] = np.append(per_class, mean)

    # One compiled training step each: the embedding (a CNN with batch norm) under the semi-hard triplet loss, and a
    # multi-task model under its masked losses.
    embedding.compile(optimizer=keras.optimizers.SGD(0.1), loss=TripletLoss(0.5, "semi_hard"))
    x, y = rng.uniform(0, 1, (8, 16, 16, 3)).astype("float32"), np.repeat(np.arange(4), 2).astype("int32")
    out["step/embedding/loss"] = np.asarray(embedding.train_on_batch(x, y))
    out["step/embedding/weights"] = np.concatenate([_numpy(array).ravel() for array in embedding.get_weights()])
    keras.utils.set_random_seed(0)
    spec = build_multitask(conv_trunk((16, 16, 3), (4, 8, 8)), {"labels": {"kind": "multilabel", "units": 3},
                                                                 "where": {"kind": "localization", "units": 3}})
    set_weights(spec.model, 0)
    spec.model.compile(keras.optimizers.SGD(0.05), **spec.compile_arguments())
    x = rng.uniform(0, 1, (4, 16, 16, 3)).astype("float32")
    results = spec.model.train_on_batch(x, {"labels": multilabel_true, "where": located}, return_dict=True)
    out.update({f"step/multitask/{name}": np.asarray(value) for name, value in results.items()})
    out["step/multitask/weights"] = np.concatenate([_numpy(array).ravel() for array in spec.model.get_weights()])
    out["step/multitask/predict"] = _numpy(ops.concatenate(list(spec.model.predict_on_batch(x).values()), axis=-1))
    return out


def child(folder):
    """Under JAX with TensorFlow blocked: import dlkit, compute the outputs, reload the saved model, save them."""
    sys.meta_path.insert(0, NoTensorFlow())
    import keras

    import dlkit
    from dlkit import registration

    assert keras.backend.backend() == "jax", keras.backend.backend()
    folder = pathlib.Path(folder)
    outputs = core_outputs(saved_model=folder / "embedding.keras")
    reloaded = keras.models.load_model(folder / "embedding.keras")
    outputs["reloaded/embedding"] = _numpy(reloaded.predict_on_batch(np.full((1, 16, 16, 3), 0.5, "float32")))
    np.savez(folder / "jax.npz", **outputs)
    print(json.dumps({"version": dlkit.__version__, "skipped": registration.SKIPPED,
                      "registered": registration.registered_names(),
                      "tensorflow_imported": "tensorflow" in sys.modules}))


@pytest.mark.slow  # ~35 s on 2 idle cores: the child's JAX start and XLA compiles run beside the parent's work
def test_the_core_under_jax_without_tensorflow_equals_the_tensorflow_backend(tmp_path):
    import keras

    assert keras.backend.backend() == "tensorflow"
    # XLA compiles every eager op and initializer of the child for CPU: without its expensive passes that takes a
    # quarter of the time (the kernels compute the same float32 arithmetic).
    environment = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu",
                       XLA_FLAGS="--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true")
    with subprocess.Popen([sys.executable, __file__, str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, cwd=ROOT, env=environment) as jax_process:
        try:
            expected = core_outputs()
            stdout, stderr = jax_process.communicate(timeout=300)
        finally:
            jax_process.kill()
    assert jax_process.returncode == 0, stderr[-4000:]
    report = json.loads(stdout.strip().splitlines()[-1])
    assert report["tensorflow_imported"] is False
    assert {f"dlkit>{name}" for name in CORE_REGISTERED} <= set(report["registered"]), report
    assert report["skipped"] == []  # every registered class imports without TensorFlow

    actual = dict(np.load(tmp_path / "jax.npz"))
    reloaded = keras.models.load_model(tmp_path / "embedding.keras")  # saved under JAX
    expected["reloaded/embedding"] = reloaded.predict_on_batch(np.full((1, 16, 16, 3), 0.5, "float32"))
    assert sorted(actual) == sorted(expected)
    for name, value in expected.items():
        if value.dtype.kind in "iuUb":
            np.testing.assert_array_equal(actual[name], value, err_msg=name)
        else:
            scale = float(np.max(np.abs(value), initial=1e-30))
            np.testing.assert_allclose(actual[name], value, rtol=RTOL, atol=ATOL * scale, err_msg=name)


def test_the_lazy_packages_still_list_and_give_every_name():
    import importlib

    for package in ("dlkit.sequence", "dlkit.style", "dlkit.transfer", "dlkit.verification"):
        module = importlib.import_module(package)
        assert set(module.__all__) <= set(dir(module)), package
        for name in module.__all__:
            assert getattr(module, name) is not None, f"{package}.{name}"
    from dlkit.sequence import sampling
    from dlkit.transfer import fine_tuning

    assert sampling.sample is importlib.import_module("dlkit.sequence").sample
    assert fine_tuning.HEAD_STEPS > 0


if __name__ == "__main__":
    child(*sys.argv[1:])
