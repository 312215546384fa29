"""recipes/classify.py trains a zoo model picked by name, with builder arguments from the command line."""


import classify
import keras
import numpy as np

from dlkit import data
from dlkit.models import build


def test_classify_recipe_trains_a_zoo_model(tmp_path):
    argv = ["--model", "resnet_tiny", "--model-arg", "width_multiplier=0.125", "--epochs", "1", "--out", str(tmp_path)]
    metrics = classify.main(argv)
    expected = build("resnet_tiny", input_shape=(32, 32, 1), num_classes=10, width_multiplier=0.125)
    assert metrics["params"] == expected.count_params()
    assert metrics["epochs"] == 1 and 0.0 <= metrics["test_accuracy"] <= 1.0
    saved = keras.models.load_model(tmp_path / "model.keras")
    # Raw pixels -> the adapter -> the network, whose layers are the builder's.
    assert [layer.name for layer in saved.layers] == ["pixels", "adapter", "resnet_tiny"]
    network = saved.get_layer("resnet_tiny")
    assert [layer.name for layer in network.layers] == [layer.name for layer in expected.layers]
    images, _ = next(iter(data.load("digits", "test", image_size=32, batch_size=8, normalize=False)[0]))
    probabilities = keras.ops.convert_to_numpy(saved(images, training=False))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
