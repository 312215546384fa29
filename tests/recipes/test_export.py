"""Export round trips: each artifact reloaded by its own runtime answers as predict.py does on the same files.

SavedModel through ``tf.saved_model.load``, LiteRT through its interpreter and
ONNX through ONNX Runtime; the classifier with its preprocessing inside, the
detector with decoding and per-class NMS inside.
"""

import json

import numpy as np
import predict
import pytest
from PIL import Image

from dlkit import inference
from dlkit.inference.images import read_image


def export(run, directory, format):
    predict.main([str(run.out), "--export", str(directory), "--format", format])
    description = json.loads((directory / "serving.json").read_text())
    card = json.loads((run.out / "run.json").read_text())
    assert description["format"] == format and description["task"] == card["task"]
    assert json.loads((directory / "run.json").read_text()) == card
    return directory / description["artifact"]


def saved_model_runner(path):
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))  # kept: its variables live as long as the loaded object
    return lambda pixels: {key: np.asarray(value) for key, value in _named(loaded.serve(tf.constant(pixels))).items()}


def litert_runner(path):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # the TensorFlow copy of the same interpreter
        from tensorflow.lite import Interpreter

    interpreter = Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner()
    name = next(iter(interpreter.get_signature_list()["serving_default"]["inputs"]))
    return lambda pixels: _named(runner(**{name: pixels}))


def onnx_runner(path):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return lambda pixels: _named(dict(zip(names, session.run(None, {session.get_inputs()[0].name: pixels}))))


RUNNERS = {"tf_saved_model": saved_model_runner, "litert": litert_runner, "onnx": onnx_runner}


def _named(outputs):
    """The detector's outputs by their names, whatever prefix a runtime adds; a classifier's single output as is."""
    if not isinstance(outputs, dict):
        return {"output": np.asarray(outputs)}
    if len(outputs) == 1:
        return {"output": np.asarray(next(iter(outputs.values())))}
    named = {}
    for key, value in outputs.items():
        for wanted in ("num_detections", "boxes", "scores", "classes"):
            if key.endswith(wanted):
                named[wanted] = np.asarray(value)
    return named


@pytest.fixture(scope="module")
def user_images(tmp_path_factory):
    """Digit photos in three sizes, grey, RGB and RGBA; the shapes test images at 64 and 160 x 96 pixels."""
    from sklearn.datasets import load_digits

    from dlkit.detection import data

    folder = tmp_path_factory.mktemp("user_images")
    digits = load_digits().images[:3] / 16.0
    for index, digit in enumerate(digits):
        dark = (255 - digit * 255).astype(np.uint8)
        Image.fromarray(dark).resize((40 + 30 * index, 50), Image.BICUBIC).convert(("L", "RGB", "RGBA")[index]).save(
            folder / f"digit{index}.png")
    test, _ = data.load("shapes", "test", image_size=64, batch_size=None, num_images=3, shuffle=False, seed=0)
    arrays = data.collect(test.batch(3))
    for index, image in enumerate(arrays["images"]):
        picture = Image.fromarray((image * 255).round().astype(np.uint8))
        picture.save(folder / f"shapes{index}.png")
        picture.resize((160, 96), Image.BICUBIC).save(folder / f"shapes{index}_wide.png")
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("format", list(RUNNERS))
def test_exported_classifier_answers_as_predict_does(recipe_run, user_images, tmp_path, format):
    run = recipe_run("classify")
    artifact = export(run, tmp_path / "exported", format)
    runner = RUNNERS[format](artifact)
    predictor = inference.load_run(run.out)
    for path in sorted(user_images.glob("digit*.png")):
        pixels = read_image(path)
        if format == "litert":
            pixels = np.asarray(Image.open(path).convert("RGB"), np.float32)  # LiteRT takes RGB only
        expected = predictor([pixels], top_k=10)[0]
        probabilities = runner(pixels[None].astype(np.float32))["output"][0]
        by_label = {item["label"]: item["probability"] for item in expected["top_k"]}
        np.testing.assert_allclose(probabilities, [by_label[name] for name in predictor.class_names], atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("format", list(RUNNERS))
def test_exported_detector_has_nms_inside_and_finds_what_predict_finds(recipe_run, user_images, tmp_path, format):
    run = recipe_run("yolo_detection")
    artifact = export(run, tmp_path / "exported", format)
    runner = RUNNERS[format](artifact)
    predictor = inference.load_run(run.out)
    checked = 0
    for path in sorted(user_images.glob("shapes*.png")):
        pixels = read_image(path)
        expected = predictor([pixels], score_threshold=0.0)[0]["detections"]  # every detection the model keeps
        found = runner(pixels[None].astype(np.float32))
        count = int(np.asarray(found["num_detections"]).reshape(-1)[0])
        assert count == len(expected) > 0
        np.testing.assert_array_equal(found["classes"][0, :count], [item["class_id"] for item in expected])
        np.testing.assert_allclose(found["scores"][0, :count], [item["score"] for item in expected], atol=2e-4)
        np.testing.assert_allclose(found["boxes"][0, :count], [item["box"] for item in expected], atol=0.02)
        checked += count
    assert checked >= 6
