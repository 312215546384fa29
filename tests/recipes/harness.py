"""What the recipe tests share: the quick runs they read, and fixed inputs for the models those runs save.

Probe inputs are made the same way in the test process and in a fresh one.

Image models that take raw pixels get a size and channel count no recipe trains
on (the adapter must resize and convert them), models with a fixed input (a
pretrained backbone a recipe shares) inputs of that shape; a siamese pair gets a
pair; the word2vec model gets word and candidate ids; sequence models get token ids, some rows
right-padded with 0.
"""

import keras
import numpy as np

SEED = 20261201

#: name -> (recipe script, arguments besides --out) of each shared ``--quick`` run.
QUICK_RUNS = {
    "classify": ("classify", ["--quick"]),
    "transfer_digits": ("transfer_learning", ["--quick"]),
    "transfer_pretrained": ("transfer_learning", ["--mode", "pretrained", "--quick"]),
    "multilabel": ("multitask", ["--quick"]),
    "localization": ("multitask", ["--task", "localization", "--quick"]),
    "yolo_detection": ("yolo_detection", ["--quick"]),
    "face_verification": ("face_verification", ["--quick", "--siamese"]),
    "style_transfer": ("style_transfer", ["--quick", "--size", "96", "--steps", "60"]),
    "word2vec": ("word2vec", ["--quick"]),
    "char_language_model": ("char_language_model", ["--quick"]),
    "name_classification": ("sequence_classification", ["--quick"]),
    "name_tagging": ("sequence_classification", ["--task", "tag", "--quick"]),
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
