"""What every predictor shares: the card, the model, running it on images of any size."""

import pathlib

import numpy as np

from dlkit.errors import ConfigError, DatasetError


class Predictor:
    """Predicts with one run folder; :func:`dlkit.inference.load_run` picks the subclass by the card's task.

    Calling a predictor, ``predictor(inputs, out=None)``, returns one JSON-ready
    record (a dict) per input; with ``out`` it also writes what a person would
    look at (annotated pictures, stylized images) into that folder.

    Attributes:
        card: the run's ``run.json`` (a dict, ``folder`` included).
        folder: the run folder as a ``pathlib.Path``.
    """

    task = None
    #: Whether inputs are image files (else words).
    takes_images = True

    def __init__(self, card):
        self.card = card
        self.folder = pathlib.Path(card["folder"])

    def file(self, key):
        """The path of a file the card names under ``key``; a clear error when it is gone."""
        name = self.card.get(key)
        path = self.folder / str(name)
        if not name or not path.exists():
            raise DatasetError(f"The run folder lacks its {key} file ({name}); it was moved in part or deleted. "
                               f"Received: {str(self.folder)!r}")
        return path

    def __call__(self, inputs, out=None):
        raise NotImplementedError

    @staticmethod
    def line(record):
        """One line of text for one record (what ``predict.py`` prints)."""
        raise NotImplementedError

    def exportable_model(self):
        """The model ``export`` writes; tasks without a network to serve say so."""
        raise ConfigError(f"A {self.task} run has no network to export. Received: {str(self.folder)!r}")


def load_model(path):
    """``keras.models.load_model(path, compile=False)`` with a one-line error for a file that is not a model."""
    import keras

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as error:  # Keras raises many types for a file it cannot read.
        raise DatasetError(f"Cannot load the model {path}: {str(error).splitlines()[0]}. Received: {str(path)!r}") \
            from None


def model_runner(model):
    """A function ``pixels batch -> NumPy outputs`` that does not retrace for every image size."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        call = tf.function(lambda images: model(images, training=False), reduce_retracing=True)
    else:
        call = lambda images: model(images, training=False)  # noqa: E731

    def run(images):
        outputs = call(np.asarray(images, np.float32))
        return keras.tree.map_structure(lambda value: np.asarray(keras.ops.convert_to_numpy(value)), outputs)

    return run


def run_on_images(runner, images, batch_size=32):
    """Runs ``runner`` on a list of ``(H, W, C)`` arrays, batching those of one shape; outputs in input order."""
    import keras

    groups = {}
    for index, image in enumerate(images):
        groups.setdefault(image.shape, []).append(index)
    results = [None] * len(images)
    for indices in groups.values():
        for start in range(0, len(indices), batch_size):
            chunk = indices[start:start + batch_size]
            outputs = runner(np.stack([images[index] for index in chunk]))
            for position, index in enumerate(chunk):
                results[index] = keras.tree.map_structure(lambda value: value[position], outputs)
    return results
