"""The shared test harness: recipes by name, user errors, save/load round trips, quick runs and probe inputs.

Every test file imports it as ``import harness`` (``tests/`` and ``recipes/`` are on
pytest's ``pythonpath``, see setup.cfg), the way keras-hub's tests share ``TestCase``:

- :func:`load_recipe` imports ``recipes/<name>.py``;
- :func:`assert_user_error` checks the recipe contract for a user's mistake: exit
  status 2, exactly one line on stderr, ``error: ...``, no traceback;
  :func:`assert_shell_error` checks the same for the script run from a shell;
- :func:`assert_round_trip` saves a model as ``.keras``, loads it back and checks
  the config and the outputs with one tolerance policy (:data:`ROUND_TRIP_TOLERANCE`);
- :data:`QUICK_RUNS`, :func:`probe_inputs` and :func:`outputs_of` serve the
  session-wide ``--quick`` runs of ``tests/recipes/conftest.py``.

Probe inputs are made the same way in the test process and in a fresh one.

Image models that take raw pixels get a size and channel count no recipe trains
on (the adapter must resize and convert them), models with a fixed input (a
pretrained backbone a recipe shares) inputs of that shape; a siamese pair gets a
pair; the word2vec model gets word and candidate ids; sequence models get token ids, some rows
right-padded with 0.
"""

import importlib
import json
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np

SEED = 20261201
#: The repository's ``recipes/`` folder.
#: ``tests/support``: the harness and the scripts tests run in a fresh process.
SUPPORT = pathlib.Path(__file__).resolve().parent
RECIPES = SUPPORT.parents[1] / "recipes"
#: A model loaded from its ``.keras`` file gives the outputs it gave before saving, to float32 round-off.
ROUND_TRIP_TOLERANCE = {"rtol": 1e-6, "atol": 1e-6}

#: name -> (recipe script, arguments besides --out) of each shared ``--quick`` run.
#: Every run also writes TensorBoard logs (tests/recipes/test_progress.py reads them).
QUICK_RUNS = {
    "classify": ("classify", ["--quick", "--tensorboard"]),
    "transfer_digits": ("transfer_learning", ["--quick", "--tensorboard"]),
    "transfer_pretrained": ("transfer_learning", ["--mode", "pretrained", "--quick", "--tensorboard"]),
    "multilabel": ("multitask", ["--quick", "--tensorboard"]),
    "localization": ("multitask", ["--task", "localization", "--quick", "--tensorboard"]),
    "yolo_detection": ("yolo_detection", ["--quick", "--tensorboard"]),
    "face_verification": ("face_verification", ["--quick", "--siamese", "--tensorboard"]),
    "style_transfer": ("style_transfer", ["--quick", "--size", "96", "--steps", "60", "--tensorboard"]),
    "word2vec": ("word2vec", ["--quick", "--tensorboard"]),
    "char_language_model": ("char_language_model", ["--quick", "--tensorboard"]),
    "name_classification": ("sequence_classification", ["--quick", "--tensorboard"]),
    "name_tagging": ("sequence_classification", ["--task", "tag", "--quick", "--tensorboard"]),
}


def probe_inputs(model):
    """Inputs for ``model`` (a dict for several named inputs)."""
    rng = np.random.default_rng(SEED)
    if model.__class__.__name__ == "Word2Vec":  # a subclassed model: ids in, no named inputs
        size = model.vocabulary_size
        words = rng.integers(0, size, 16)
        if model.architecture == "cbow":
            words = rng.integers(0, size, (16, 4))
        return (words, rng.integers(0, size, (16, 6)))
    if "int" in str(model.inputs[0].dtype):  # a sequence model: token ids, right-padded with 0 in two rows
        embedding = next(layer for layer in model.layers if isinstance(layer, keras.layers.Embedding))
        ids = rng.integers(1, embedding.input_dim, (3, 17)).astype(np.int32)
        ids[1, 11:], ids[2, 5:] = 0, 0
        return ids
    shape = tuple(model.inputs[0].shape[1:])
    if None in shape:  # raw pixels of any size: one no recipe trains on
        shape = (41, 29, 3)
    pixels = lambda: rng.uniform(0, 255, (3, *shape)).astype(np.float32)  # noqa: E731
    names = [tensor.name for tensor in model.inputs]
    if len(names) > 1:
        return {name: pixels() for name in names}
    return pixels()


def outputs_of(model, inputs):
    """``{name: array}`` of ``model``'s outputs on ``inputs`` (``output`` for a single tensor)."""
    outputs = model(inputs, training=False)
    if isinstance(outputs, dict):
        return {key: np.asarray(value) for key, value in outputs.items()}
    return {"output": np.asarray(outputs)}


def load_recipe(name):
    """The module ``recipes/<name>.py`` (imported once per session)."""
    return importlib.import_module(name)


def _main_of(recipe):
    if isinstance(recipe, str):
        recipe = load_recipe(recipe)
    return getattr(recipe, "main", recipe)


def assert_user_error(capsys, recipe, argv, *expected):
    """Runs ``recipe`` (a name, module or ``main``) through ``cli.run`` and checks a user error.

    Exit status 2, one line on stderr that starts with ``error: `` and holds each
    of ``expected``, no traceback.

    Returns:
        The error line.
    """
    from dlkit import cli

    capsys.readouterr()
    status = cli.run(_main_of(recipe), [str(item) for item in argv])
    error = capsys.readouterr().err.strip().splitlines()
    assert status == 2, f"exit status {status}, stderr: {error}"
    assert len(error) == 1, error
    assert error[0].startswith("error: "), error[0]
    for text in expected:
        assert text in error[0], (text, error[0])
    return error[0]


def assert_shell_error(recipe, argv, *expected, timeout=180):
    """Runs ``python recipes/<recipe>.py argv`` and checks a user error from a shell: exit 2, no traceback.

    The ``error: ...`` line, holding each of ``expected``, is the only line on
    stderr: TensorFlow's native start-up lines are hidden unless the user sets
    ``TF_CPP_MIN_LOG_LEVEL`` (which this run leaves unset).

    Returns:
        The error line.
    """
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    completed = subprocess.run([sys.executable, str(RECIPES / f"{recipe}.py"), *[str(item) for item in argv]],
                               capture_output=True, text=True, timeout=timeout, env=environment)
    assert completed.returncode == 2, completed.stderr[-2000:]
    assert "Traceback" not in completed.stderr, completed.stderr[-2000:]
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr[-2000:]
    line = lines[0]
    assert line.startswith("error: "), line
    for text in expected:
        assert text in line, (text, line)
    return line


def event_scalars(folder):
    """Every scalar in the TensorBoard event files under ``folder``: ``{tag: [values in step order]}``."""
    import tensorflow as tf
    from tensorflow.core.util import event_pb2

    scalars = {}
    for path in sorted(pathlib.Path(folder).rglob("events.out.tfevents*")):
        for record in tf.data.TFRecordDataset(str(path)):
            event = event_pb2.Event.FromString(record.numpy())
            for value in event.summary.value:
                number = np.asarray(tf.make_ndarray(value.tensor) if value.HasField("tensor") else value.simple_value)
                if number.size == 1 and np.issubdtype(number.dtype, np.number):  # not the model config, images...
                    scalars.setdefault(value.tag, []).append((event.step, float(number)))
    return {tag: [value for _, value in sorted(pairs, key=lambda pair: pair[0])] for tag, pairs in scalars.items()}


def assert_same_outputs(actual, expected):
    """Outputs (arrays, or dicts of arrays) equal to :data:`ROUND_TRIP_TOLERANCE`."""
    if isinstance(expected, dict):
        assert set(actual) == set(expected), (sorted(actual), sorted(expected))
        for key in expected:
            np.testing.assert_allclose(np.asarray(actual[key]), np.asarray(expected[key]), err_msg=key,
                                       **ROUND_TRIP_TOLERANCE)
        return
    if isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected)
        for got, want in zip(actual, expected):
            assert_same_outputs(got, want)
        return
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), **ROUND_TRIP_TOLERANCE)


def assert_round_trip(model, path, inputs=None):
    """Saves ``model`` to ``path`` (``.keras``), loads it back and checks config and outputs.

    Args:
        model: a built Keras model.
        path: the ``.keras`` file to write.
        inputs: what to call both models on (default: :func:`probe_inputs`).

    Returns:
        The loaded model.
    """
    path = pathlib.Path(path)
    model.save(path)
    loaded = keras.models.load_model(path)
    # Through JSON: a fresh model's config holds tuples where the reloaded one holds lists.
    assert json.loads(loaded.to_json()) == json.loads(model.to_json())
    inputs = probe_inputs(model) if inputs is None else inputs
    assert_same_outputs(loaded(inputs, training=False), model(inputs, training=False))
    return loaded


def run(recipe, argv):
    """``cli.run`` of ``recipe`` (a name, module or ``main``) on ``argv``: the exit status a shell would see."""
    from dlkit import cli

    return cli.run(_main_of(recipe), [str(item) for item in argv])
