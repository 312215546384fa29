"""Run in a fresh process: reload each quick run's saved models with plain Keras and recompute its headline.

    python reload_check.py RESULT.json NAME=RUN_DIR [NAME=RUN_DIR ...]

The only dlkit import before ``keras.models.load_model`` is ``import dlkit``.
For each run it writes the probe outputs of every ``*.keras`` file in the
folder (``RESULT.npz``) and the headline metric recomputed from the reloaded
model alone with the recipe's own test data (``RESULT.json``).
"""

import argparse
import json
import pathlib
import sys

import keras
import numpy as np

import dlkit  # noqa: F401  (registers every dlkit class; nothing else of dlkit is imported before loading)

HERE = pathlib.Path(__file__).resolve().parent
# Run as a script in a fresh process: the harness (tests/) and the recipes are put on the path here.
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "recipes"))

import harness  # noqa: E402


def config_of(folder):
    return argparse.Namespace(**json.loads((folder / "config.json").read_text()))


def accuracy(model, images, labels):
    predictions = np.argmax(model.predict(images, verbose=0, batch_size=64), axis=-1)
    return float(np.mean(predictions == labels))


def classify_headline(folder, models):
    import classify

    from dlkit import data, evaluation

    args = config_of(folder)
    size = args.image_size or classify.default_image_size(args.dataset)
    test, _ = data.load(args.dataset, "test", image_size=size, normalize=False, seed=args.seed)
    y_true, probabilities = evaluation.predict_classes(models["model.keras"], test)
    return {"test_accuracy": float(np.mean(np.argmax(probabilities, axis=-1) == y_true))}


def transfer_digits_headline(folder, models):
    from dlkit import data

    parts = [data.load("digits", split, image_size=16, batch_size=None, classes=[5, 6, 7, 8, 9], normalize=False)[0]
             for split in ("dev", "test")]
    images, labels = zip(*(pair for part in parts for pair in part.as_numpy_iterator()))
    return {"finetuned_accuracy": accuracy(models["model.keras"], np.stack(images), np.asarray(labels) - 5)}


def transfer_pretrained_headline(folder, models):
    from dlkit.data import photos

    args = config_of(folder)
    images, labels, _ = photos.photo_crops("test", 20, image_size=64, seed=args.seed, grayscale=True, lighting=0.5)
    return {"pretrained_accuracy": accuracy(models["model.keras"], images, labels)}


def shapes_test(args, task):
    import multitask

    from dlkit.data import shapes

    classes = tuple(name.strip() for name in args.classes.split(",") if name.strip())
    options = dict(image_size=32, batch_size=32, seed=args.seed, classes=classes, background=args.background,
                   size_range=multitask.SIZE_RANGE)
    if task == "localization":
        options.update(task="localization", landmarks=True)
    test, _ = shapes.load("test", num_images=600, **options)
    return classes, list(test.as_numpy_iterator())


def multilabel_headline(folder, models):
    from dlkit.multitask import multilabel_scores

    classes, batches = shapes_test(config_of(folder), "multilabel")
    images = np.concatenate([images for images, _ in batches]) * 255.0
    labels = np.concatenate([labels for _, labels in batches])
    probabilities = models["model.keras"].predict(images, verbose=0)["labels"]
    return {"mean_auc": multilabel_scores(labels, probabilities, classes)["mean_auc"]}


def localization_headline(folder, models):
    from dlkit.multitask import localization_scores

    _, batches = shapes_test(config_of(folder), "localization")
    images = np.concatenate([images for images, _ in batches]) * 255.0
    truth = np.concatenate([target["localization"] for _, target in batches])
    landmarks = np.concatenate([target["landmarks"] for _, target in batches])
    predictions = models["model.keras"].predict(images, verbose=0)
    scores = localization_scores(truth, predictions["localization"], landmarks, predictions["landmarks"], 32)
    return {"class_accuracy": scores["class_accuracy"], "mean_iou": scores["mean_iou"]}


def yolo_headline(folder, models):
    from dlkit.detection import data
    from dlkit.detection.metrics import evaluate_detections

    args = config_of(folder)
    test, info = data.load("shapes", "test", image_size=64, batch_size=None, num_images=200, shuffle=False,
                           seed=args.seed)
    arrays = data.collect(test.batch(64))
    found = models["model.keras"].predict(arrays["images"] * 255.0, batch_size=32, verbose=0)
    boxes = np.where(found["boxes"] >= 0, found["boxes"] / 64.0, -1.0)
    report = evaluate_detections(arrays["boxes"], arrays["labels"], boxes, found["classes"], found["scores"],
                                 info.num_classes)
    return {"map50": report["map50"]}


def face_verification_headline(folder, models):
    import face_verification

    from dlkit import verification

    args = config_of(folder)
    _, unseen, _ = face_verification.load_split(args)
    embeddings = models["model.keras"].predict(unseen.images * 255.0, verbose=0)
    first, second, same = verification.make_pairs(unseen.labels, 3000, seed=args.split_seed)
    distances = verification.paired_distances(embeddings[first], embeddings[second], args.distance)
    report = verification.evaluate_verification(distances, same, folds=10, seed=args.split_seed)
    return {"verification_accuracy": report["accuracy"], "roc_auc": report["roc_auc"]}


def word2vec_headline(folder, models):
    from gensim.test.utils import datapath

    from dlkit.embeddings import WordVectors

    rows = [line.split("\t") for line in (folder / "vocabulary.tsv").read_text().splitlines()]
    vectors = WordVectors([word for word, _ in rows], models["model.keras"].word_vectors,
                          [int(count) for _, count in rows])
    return {"wordsim353_spearman": vectors.evaluate_word_pairs(datapath("wordsim353.tsv"))["spearman"]}


def char_language_model_headline(folder, models):
    import char_language_model as recipe

    from dlkit.sequence import CharVocabulary, bits_per_character
    from dlkit.sequence.text import read_text_corpus, split_text

    args = config_of(folder)
    settings = (recipe.NAMES_DEFAULTS if args.corpus == "names" else recipe.DEFAULTS)[args.quick]
    text, names = read_text_corpus(args.corpus, args.seed)
    test_text = split_text(text, names)[2][:args.test_chars or settings["test_chars"]]
    vocabulary = CharVocabulary.load(folder / "vocabulary.json")
    return {"test_bits_per_char": bits_per_character(models["model.keras"], vocabulary.encode(test_text))}


def name_classification_headline(folder, models):
    from dlkit.sequence import CharVocabulary, names
    from dlkit.sequence.text import right_pad

    args = config_of(folder)
    test_names, labels = names.split_names(names.surnames_by_language(), seed=args.seed)["test"]
    vocabulary = CharVocabulary.load(folder / "vocabulary.json")
    ids = right_pad([vocabulary.encode(name) for name in test_names])
    return {"test_accuracy": accuracy(models["model.keras"], ids, labels)}


def name_tagging_headline(folder, models):
    from dlkit.sequence import WordVocabulary, tagging

    args = config_of(folder)
    sentences, tags = tagging.name_tagging_data(seed=args.seed).splits["test"]
    vocabulary = WordVocabulary.load(folder / "vocabulary.json")
    inputs = [vocabulary.encode(tokens) for tokens in sentences]
    return {f"per_f1_{direction}": tagging.token_scores(tags, tagging.predict_tags(models[file_name], inputs))["f1"]
            for direction, file_name in (("bidirectional", "model.keras"),
                                         ("unidirectional", "model_unidirectional.keras"))}


HEADLINES = {
    "name_classification": name_classification_headline,
    "name_tagging": name_tagging_headline,
    "char_language_model": char_language_model_headline,
    "classify": classify_headline,
    "transfer_digits": transfer_digits_headline,
    "transfer_pretrained": transfer_pretrained_headline,
    "multilabel": multilabel_headline,
    "localization": localization_headline,
    "yolo_detection": yolo_headline,
    "face_verification": face_verification_headline,
    "word2vec": word2vec_headline,
}


def main(result, *specs):
    result = pathlib.Path(result)
    headlines, outputs = {}, {}
    for spec in specs:
        name, folder = spec.split("=", 1)
        folder = pathlib.Path(folder)
        models = {path.name: keras.models.load_model(path) for path in sorted(folder.glob("*.keras"))}
        for file_name, model in models.items():
            for key, value in harness.outputs_of(model, harness.probe_inputs(model)).items():
                outputs[f"{name}/{file_name}/{key}"] = value
        headlines[name] = {"files": sorted(models), **HEADLINES[name](folder, models)}
    np.savez(result.with_suffix(".npz"), **outputs)
    result.write_text(json.dumps(headlines, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
