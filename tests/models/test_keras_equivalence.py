"""Numerical identity with keras.applications through a saved weights file.

For VGG16, ResNet50, MobileNetV2 and MobileNet: build the Keras model with
``weights=None`` (10 classes, logits, 32×32×3 inputs: the smallest size Keras
allows, to keep the test fast; every layer and weight shape is the ImageNet
model's except the 10-class top and, for VGG16, ``fc1``'s input), randomize its
batch-norm statistics so every variable is distinguishable, save
``.weights.h5``, load that file through the dlkit builder's ``weights=`` and
compare predictions on the same random batch.
"""

import keras
import numpy as np
import pytest

from dlkit.models import mobilenet, resnet, vgg

CASES = [
    ("vgg16", keras.applications.VGG16, vgg.vgg16, 100.0),
    ("resnet50", keras.applications.ResNet50, resnet.resnet50, 1.0),
    ("mobilenet_v2", keras.applications.MobileNetV2, mobilenet.mobilenet_v2, 1.0),
    ("mobilenet", keras.applications.MobileNet, mobilenet.mobilenet, 1.0),
]


def _randomize_batch_norm(model, rng):
    values = []
    for weight in model.weights:
        shape, path = tuple(weight.shape), weight.path
        if "moving_variance" in path:
            value = rng.uniform(0.5, 1.5, shape)
        elif "moving_mean" in path or "beta" in path:
            value = rng.normal(0.0, 0.1, shape)
        elif "gamma" in path:
            value = rng.uniform(0.8, 1.2, shape)
        else:
            value = np.asarray(weight.numpy())
        values.append(value.astype("float32"))
    model.set_weights(values)


@pytest.mark.parametrize(
    "name, application, builder, input_scale, include_top",
    [case + (True,) for case in CASES] + [case + (False,) for case in CASES[:3]],
    ids=[f"{case[0]}-top" for case in CASES] + [f"{case[0]}-avg" for case in CASES[:3]],
)
def test_predictions_equal_keras_applications(tmp_path, name, application, builder, input_scale, include_top):
    rng = np.random.default_rng(0)
    shape = (32, 32, 3)
    pooling = None if include_top else "avg"
    theirs = application(
        weights=None, input_shape=shape, classes=10, classifier_activation=None,
        include_top=include_top, pooling=pooling,
    )
    _randomize_batch_norm(theirs, rng)
    path = tmp_path / f"{name}.weights.h5"
    theirs.save_weights(path)
    ours = builder(
        input_shape=shape, num_classes=10, classifier_activation=None, weights=str(path),
        include_top=include_top, pooling=pooling,
    )
    # VGG expects caffe-style inputs (0-255 minus the mean); the others [-1, 1].
    images = (rng.uniform(-1.0, 1.0, (4, *shape)) * input_scale).astype("float32")
    expected = keras.ops.convert_to_numpy(theirs(images, training=False))
    got = keras.ops.convert_to_numpy(ours(images, training=False))
    assert got.shape == expected.shape
    assert np.abs(expected).max() > 1e-2  # the comparison is not between near-zero outputs
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    # Without the file the dlkit model is a different random network: the equality above is the weights'.
    fresh = builder(input_shape=shape, num_classes=10, classifier_activation=None,
                    include_top=include_top, pooling=pooling)
    assert np.abs(keras.ops.convert_to_numpy(fresh(images, training=False)) - expected).max() > 1e-3
