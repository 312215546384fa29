"""Use what a recipe trained: load a run folder, predict on your own files, export for serving.

    from dlkit import inference

    predictor = inference.load_run("runs/classify-20261201-101500")
    predictor(["seven.jpg", "photos/"])        # one record (a dict) per image
    inference.export_run(predictor, "exported", format="tf_saved_model")

A run folder is self-describing: ``run.json`` names its task and what
predicting needs (class names, anchors, thresholds, the face database, the
vocabulary), and ``model.keras`` takes raw ``[0, 255]`` pixels of any size and
channel count (:class:`dlkit.data.adapter.ImageAdapter` inside). The command
line is ``python recipes/predict.py RUN_DIR INPUT...``.
"""

from dlkit.inference.export import FORMATS, export_run
from dlkit.inference.images import as_pixels, expand_inputs, load_inputs, read_image
from dlkit.inference.run import RUN_FILE, TASKS, read_run, save_model, write_atomically, write_run


def predictor_class(task):
    """The :class:`~dlkit.inference.base.Predictor` subclass of a task (imports only what it needs)."""
    if task == "classification":
        from dlkit.inference.classification import ClassificationPredictor as predictor
    elif task == "multilabel":
        from dlkit.inference.classification import MultilabelPredictor as predictor
    elif task == "localization":
        from dlkit.inference.classification import LocalizationPredictor as predictor
    elif task == "detection":
        from dlkit.inference.detection import DetectionPredictor as predictor
    elif task == "verification":
        from dlkit.inference.verification import VerificationPredictor as predictor
    elif task == "style_transfer":
        from dlkit.inference.style import StylePredictor as predictor
    elif task == "language_model":
        from dlkit.inference.text import LanguageModelPredictor as predictor
    elif task == "text_classification":
        from dlkit.inference.text import TextClassificationPredictor as predictor
    elif task == "tagging":
        from dlkit.inference.text import TaggingPredictor as predictor
    else:
        from dlkit.inference.words import WordPredictor as predictor
    return predictor


def load_run(folder):
    """Returns the predictor of a run folder.

    Raises:
        DatasetError: not a run folder, or one whose files are gone.
    """
    card = read_run(folder)
    return predictor_class(card["task"])(card)


__all__ = [
    "FORMATS", "RUN_FILE", "TASKS", "as_pixels", "expand_inputs", "export_run", "load_inputs", "load_run",
    "predictor_class", "read_image", "read_run", "save_model", "write_atomically", "write_run",
]
