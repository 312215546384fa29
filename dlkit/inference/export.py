"""Export a run's model for serving, through Keras's own ``model.export``.

The exported artifact is the saved model as it is: raw ``[0, 255]`` pixels of
any size in (its :class:`~dlkit.data.adapter.ImageAdapter` inside), and for a
detector, decoding and per-class NMS inside too. Beside it, ``run.json`` is
copied (class names, thresholds) and ``serving.json`` names the inputs and
outputs, so the folder is all a server needs.
"""

import json
import pathlib
import shutil

import numpy as np

from dlkit.errors import ConfigError

FORMATS = {"tf_saved_model": "saved_model", "litert": "model.tflite", "onnx": "model.onnx"}


def export_run(predictor, directory, format="tf_saved_model"):
    """Exports ``predictor``'s model into ``directory``; returns the artifact's path.

    Args:
        predictor: from :func:`dlkit.inference.load_run`.
        directory: output folder (created).
        format: ``"tf_saved_model"`` (TensorFlow Serving, ``tf.saved_model.load``),
            ``"litert"`` (TFLite / LiteRT, ``.tflite``) or ``"onnx"``
            (ONNX Runtime; needs ``pip install -e '.[export]'``).

    Raises:
        ConfigError: an unknown format, a task without a network, or the
            format's converter is not installed.
    """
    if format not in FORMATS:
        raise ConfigError(f"format must be one of {', '.join(FORMATS)}. Received: format={format!r}")
    model = predictor.exportable_model()
    if format == "onnx":
        for module in ("tf2onnx", "onnx"):
            try:
                __import__(module)
            except ImportError:
                raise ConfigError(f"ONNX export needs {module}: pip install -e '.[export]' (tf2onnx, onnxruntime). "
                                  f"Received: format='onnx'") from None
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / FORMATS[format]
    if path.is_dir():
        shutil.rmtree(path)
    # A model loaded from a file has never been called, which the ONNX exporter requires.
    takes_ids = not predictor.takes_images
    model(np.ones((1, 8), np.int32) if takes_ids else np.zeros((1, 32, 32, 3), np.float32))
    options = {}
    if format == "litert" and takes_ids:
        import keras

        options["input_signature"] = [keras.InputSpec(shape=(None, None), dtype="int32")]
    elif format == "litert":
        # LiteRT prepares both branches of a conditional for the shapes given, so the channel count must be
        # fixed: RGB, what a camera frame or a decoded photo is. Height and width stay free.
        import keras

        options["input_signature"] = [keras.InputSpec(shape=(None, None, None, 3), dtype="float32")]
    model.export(str(path), format=format, verbose=False, **options)
    shutil.copyfile(predictor.folder / "run.json", directory / "run.json")
    if takes_ids and predictor.card.get("vocabulary"):  # the ids mean nothing without it
        shutil.copyfile(predictor.file("vocabulary"), directory / pathlib.Path(predictor.card["vocabulary"]).name)
    description = {
        "format": format,
        "artifact": path.name,
        "task": predictor.task,
        "input": ("int32 token ids (batch, time) from the run's vocabulary file, 0 = padding on the right"
                  if takes_ids else
                  "float32 pixels (batch, height, width, channels) in [0, 255], any height and width; channels: "
                  + ("3 (RGB)" if format == "litert" else "1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA)")),
        "outputs": _outputs(model),
    }
    (directory / "serving.json").write_text(json.dumps(description, indent=2) + "\n")
    return path


def _outputs(model):
    outputs = model.output
    if isinstance(outputs, dict):
        return {name: {"shape": list(tensor.shape), "dtype": str(tensor.dtype)} for name, tensor in outputs.items()}
    return {"output_0": {"shape": list(outputs.shape), "dtype": str(outputs.dtype)}}
