"""The run folder's card: ``run.json`` says what a run is and what predicting with it needs.

Every recipe that trains something writes, beside ``config.json`` and
``metrics.json``::

    run.json   {"dlkit_run": 1, "recipe": "classify", "task": "classification",
                "model": "model.keras", "class_names": [...], ...}

``task`` picks the predictor (:data:`TASKS`); file names in it are relative to
the folder, so a run folder can be moved or copied whole. Files are written
atomically (:mod:`dlkit.files`): to a temporary name in the same folder, then
renamed, so a run killed while saving never leaves a truncated model or card
behind.
"""

import json
import pathlib

from dlkit.errors import DatasetError
from dlkit.files import atomic_path, write_atomically  # noqa: F401  (part of this module's API)

RUN_FILE = "run.json"
FORMAT_VERSION = 1
#: task -> what ``python recipes/predict.py RUN_DIR ...`` does with it.
TASKS = {
    "classification": "top-k labels with probabilities for each image",
    "detection": "boxes with class names and scores in the pixels of each image, and annotated pictures",
    "verification": "identify each face against the run's database, or --verify A B",
    "multilabel": "every label's probability for each image",
    "localization": "the object's class, box and landmarks in the pixels of each image",
    "style_transfer": "each content image painted in the run's style",
    "word_vectors": "nearest neighbours of words, and analogies (a:b::c or king-man+woman)",
    "language_model": "text sampled after each prompt (names in a names run)",
    "text_classification": "top-k labels with probabilities for each text",
    "tagging": "a tag for every token of each sentence",
}


def save_model(model, path):
    """``model.save(path)``, atomically."""
    return write_atomically(path, lambda temporary: model.save(temporary))


def write_run(folder, task, recipe, **fields):
    """Writes ``run.json`` into ``folder`` and returns the card as a dict.

    Args:
        folder: the run folder.
        task: one of :data:`TASKS`.
        recipe: the recipe that made the run.
        **fields: what predicting needs (``model``, ``class_names``, ...);
            paths must be relative to ``folder``.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}. Received: task={task!r}")
    from dlkit import __version__
    from dlkit.cli import _jsonable

    card = {"dlkit_run": FORMAT_VERSION, "dlkit_version": __version__, "recipe": recipe, "task": task, **fields}
    text = json.dumps(_jsonable(card), indent=2) + "\n"
    write_atomically(pathlib.Path(folder) / RUN_FILE, lambda temporary: temporary.write_text(text))
    return card


def read_run(folder):
    """Returns the card of a run folder (a dict with ``folder`` added).

    Raises:
        DatasetError: ``folder`` is not a folder, holds no ``run.json``, or its
            card is unreadable or of an unknown task.
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"Run folder not found. Received: {str(folder)!r}")
    path = folder / RUN_FILE
    if not path.is_file():
        recipe = _recipe_of(folder)
        hint = (
            f"it was made by {recipe!r}, which trains nothing to predict with (or by a dlkit older than 0.2)"
            if recipe else "pass the folder a recipe wrote with --out (runs/<recipe>-<timestamp>)"
        )
        raise DatasetError(f"Not a dlkit run folder with a model to predict with: no {RUN_FILE} in it; {hint}. "
                           f"Received: {str(folder)!r}")
    try:
        card = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise DatasetError(f"Unreadable {RUN_FILE} ({error}). Received: {str(path)!r}") from None
    if not isinstance(card, dict) or card.get("task") not in TASKS:
        task = card.get("task") if isinstance(card, dict) else None
        raise DatasetError(f"{RUN_FILE} names no known task ({', '.join(TASKS)}). Received: task={task!r} in "
                           f"{str(path)!r}")
    if int(card.get("dlkit_run", 0)) > FORMAT_VERSION:
        raise DatasetError(f"{path} was written by a newer dlkit (run format {card['dlkit_run']}); upgrade dlkit. "
                           f"Received: dlkit_run={card['dlkit_run']}")
    card["folder"] = str(folder)
    return card


def _recipe_of(folder):
    try:
        return json.loads((folder / "config.json").read_text()).get("recipe")
    except (OSError, ValueError, AttributeError):
        return None
