"""Run in a fresh process: every training recipe under ``--strategy mirrored`` over two logical CPUs.

    python strategies_check.py RESULT.json WORK_DIR

The CPU is split into two logical devices before TensorFlow starts, as a
machine with two GPUs would offer them. Each recipe runs in this process with
its smallest settings (``--mixed-precision`` too where the recipe supports it);
every ``dlkit.training.fit`` call is recorded (replicas, whether the model
computes in float16). ``RESULT.json`` maps each case to its exit status, its
metrics and the fits it made.
"""

import contextlib
import importlib
import io
import json
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "recipes"))

from dlkit import cli, training  # noqa: E402
from dlkit.data import photo_folders  # noqa: E402

MIRRORED = ["--strategy", "mirrored"]
MIXED = ["--strategy", "mirrored", "--mixed-precision"]


def cases(work):
    folder = photo_folders.make_folder(work / "textures", "textures", per_class=8)
    tiny_shapes = ["--quick", "--train-images", "96", "--epochs", "1", "--image-size", "32"]
    return {
        "classify": ("classify", ["--quick", "--epochs", "2", *MIXED]),
        "transfer_folder": ("transfer_learning", [
            "--backbone", "vgg16", "--weights", "vgg16-hed", "--dataset", str(folder), "--image-size", "32",
            "--epochs", "2", *MIXED]),
        "localization": ("multitask", [*tiny_shapes, "--task", "localization", *MIXED]),
        "yolo_detection": ("yolo_detection", [
            "--quick", "--epochs", "1", "--train-images", "64", "--test-images", "16", *MIXED]),
        "face_verification": ("face_verification", [
            "--quick", "--epochs", "1", "--steps-per-epoch", "3", "--siamese", *MIXED]),
        # Sparse SGD on one device and pixel optimization: both refuse a strategy with one line.
        "word2vec": ("word2vec", ["--corpus", "lee", "--epochs", "1", *MIRRORED]),
        "style_transfer": ("style_transfer", ["--quick", "--steps", "2", "--size", "64", *MIRRORED]),
    }


def main(result, work):
    work = pathlib.Path(work)
    fits = []
    original = training.fit

    def recording_fit(*args, **kwargs):
        outcome = original(*args, **kwargs)
        layers = outcome.model._flatten_layers()
        fits.append({
            "replicas": outcome.strategy.num_replicas_in_sync,
            "float16": any(getattr(layer, "compute_dtype", None) == "float16" for layer in layers),
            "loss": outcome.history.get("loss", [None])[-1],
        })
        return outcome

    training.fit = recording_fit
    results = {}
    for name, (recipe, argv) in cases(work).items():
        module = importlib.import_module(recipe)
        fits.clear()
        errors = io.StringIO()
        out = work / name
        with contextlib.redirect_stderr(errors):
            status = cli.run(module.main, [*argv, "--out", str(out)])
        metrics_file = out / "metrics.json"
        results[name] = {
            "status": status,
            "stderr": errors.getvalue().strip().splitlines()[-1:] if errors.getvalue().strip() else [],
            "metrics": json.loads(metrics_file.read_text()) if metrics_file.exists() else None,
            "fits": list(fits),
        }
    pathlib.Path(result).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
