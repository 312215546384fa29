"""dlkit.transfer.prepare_task (a folder on a backbone in one call), the experiments' pieces and their plots."""

import json

import harness
import keras
import numpy as np
import pytest

from dlkit import transfer
from dlkit.data import photo_folders
from dlkit.errors import ConfigError
from dlkit.transfer import experiments, plots


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return photo_folders.make_folder(tmp_path_factory.mktemp("textures") / "textures", "textures", per_class=6)


def test_a_folder_on_a_backbone_in_one_call(folder, tmp_path):
    task = transfer.prepare_task("vgg_tiny", folder, 32, batch_size=4, split_seed=1)
    assert task.preprocessing == "caffe"  # resolved from the backbone, and inside the model
    assert task.model.get_layer("preprocessing").mode == "caffe"
    assert task.model.input.shape == (None, 32, 32, 3) and task.model.output.shape[-1] == task.info.num_classes
    sizes = 0
    for split in (task.train, task.dev, task.test):
        images, _ = next(iter(split))
        assert images.shape[1:] == (32, 32, 3) and float(np.max(images)) > 1.0  # [0, 255] pixels at --image-size
        sizes += sum(int(batch[1].shape[0]) for batch in split)
    assert sizes == 6 * task.info.num_classes
    # As harness.assert_round_trip, but with JSON-equal configs: nested layers come back with list build shapes.
    task.model.save(tmp_path / "task.keras")
    loaded = keras.models.load_model(tmp_path / "task.keras")
    assert json.loads(json.dumps(loaded.get_config())) == json.loads(json.dumps(task.model.get_config()))
    inputs = harness.probe_inputs(task.model)
    harness.assert_same_outputs(loaded(inputs, training=False), task.model(inputs, training=False))


def test_prepare_task_builds_under_mixed_precision_and_restores_the_policy(folder):
    task = transfer.prepare_task("vgg_tiny", folder, 32, batch_size=4, mixed_precision=True)
    assert keras.config.dtype_policy().name == "float32"
    assert transfer.find_base(task.model).layers[1].compute_dtype == "float16"
    assert task.model.output.dtype == "float32"


def test_prepare_task_fails_on_the_backbone_before_reading_data(tmp_path):
    with pytest.raises(ConfigError, match="Unknown backbone"):
        transfer.prepare_task("resnet5O", tmp_path / "no such folder", 32)


def test_few_shot_takes_that_many_of_each_class():
    labels = np.repeat(np.arange(3), 10)
    images = np.arange(30)
    chosen, chosen_labels = experiments.few_shot(images, labels, 4, seed=0)
    assert np.bincount(chosen_labels).tolist() == [4, 4, 4]
    assert np.array_equal(labels[chosen], chosen_labels)
    assert np.array_equal(experiments.few_shot(images, labels, 4, seed=0)[0], chosen)


def test_plots_write_their_pictures(tmp_path):
    values = {"from scratch": 0.5, "frozen": 0.8, "fine-tuned": 0.9}
    plots.plot_comparison(values, tmp_path / "comparison.png", "title", spread=dict.fromkeys(values, 0.05), chance=0.2)
    plots.plot_learning_curves({key: [0.2, value] for key, value in values.items()}, tmp_path / "curves.png", 1, "t")
    images = np.random.default_rng(0).uniform(0, 255, (6, 8, 8, 3))
    plots.plot_crops(images, np.array([0, 0, 1, 1, 2, 2]), ["a", "b", "c"], tmp_path / "crops.png", per_class=2)
    for name in ("comparison.png", "curves.png", "crops.png"):
        assert (tmp_path / name).stat().st_size > 0, name
