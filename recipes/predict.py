"""Predict with any recipe's run folder on your own files, or export its model for serving.

A run folder is self-describing (``run.json`` beside ``model.keras``), so one
command serves every recipe:

=====================  =================================================================
classify,              top-k labels with probabilities for each image file or folder
transfer_learning
yolo_detection         boxes with class names and scores in each image's own pixels
                       (``xyxy``), and ``<image>.detections.png`` pictures
face_verification      who each face is against the run's database (a name, or
                       ``unknown``) with the distance; ``--verify A B`` for a pair
multitask              each label's probability (multi-label), or the object's class,
                       box and landmarks with ``<image>.localization.png`` (localization)
style_transfer         each content image painted with the run's style and settings
word2vec               nearest neighbours of words; analogies ``man:king::woman`` or
                       ``king-man+woman``
char_language_model    text sampled after each prompt (new names in a names run);
                       ``--length``, ``--temperature``, ``--seed``
sequence_              the language of each name (``--task classify``), or a tag for
classification         every word of each sentence (``--task tag``)
=====================  =================================================================

Commands::

    python recipes/predict.py runs/classify-20261201-101500 seven.jpg photos/
    python recipes/predict.py runs/yolo_detection-... street.jpg --out found/ --score-threshold 0.5
    python recipes/predict.py runs/face_verification-... --verify me.png you.png
    python recipes/predict.py runs/word2vec-... king man:king::woman
    python recipes/predict.py runs/char_language_model-... "the king " --length 200 --temperature 0.5
    python recipes/predict.py runs/sequence_classification-... Nakamura "O'Brien" Schmidt
    python recipes/predict.py runs/classify-... --export exported/ --format tf_saved_model   # or litert, onnx

Writes into ``--out`` (default ``runs/predict-<timestamp>``) ``predictions.json``
(one record per input, in order) and the pictures; prints one line per input,
then a summary line. Images may be PNG, JPEG, GIF, BMP, TIFF or WebP, of any
size, grey, RGB or with alpha: the model's own adapter resizes and converts
them. An input that is not an image, a folder that is not a run, or a run
without a predict path: one line on stderr, exit status 2.
"""

import argparse
import datetime
import pathlib
import sys
import time

from dlkit import cli
from dlkit.errors import ConfigError


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="predict.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", metavar="RUN_DIR", help="a run folder a recipe wrote (it holds run.json)")
    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="image files or folders (words for word2vec, texts for the sequence recipes)")
    parser.add_argument("--out", default=None, help="output folder (default: runs/predict-<timestamp>)")
    parser.add_argument("--top-k", type=int, default=3, help="classification: labels shown per image (default 3)")
    parser.add_argument("--score-threshold", type=float, default=None,
                        help="detection: smallest score kept (default: the run's drawing threshold)")
    parser.add_argument("--verify", nargs=2, metavar=("A", "B"), default=None,
                        help="face verification: are the faces in images A and B the same person?")
    parser.add_argument("--topn", type=int, default=10, help="word2vec: neighbours per query (default 10)")
    parser.add_argument("--steps", type=int, default=None, help="style transfer: optimizer steps (default: the run's)")
    parser.add_argument("--length", type=int, default=None,
                        help="language model: characters sampled per prompt (default: the run's)")
    parser.add_argument("--temperature", type=float, default=None,
                        help="language model: sampling temperature, 0 = greedy (default: the run's)")
    parser.add_argument("--seed", type=int, default=0, help="language model: seed of the sampling (default 0)")
    parser.add_argument("--export", metavar="DIR", default=None, help="export the run's model into DIR instead")
    parser.add_argument("--format", default="tf_saved_model", choices=("tf_saved_model", "litert", "onnx"),
                        help="export format (default tf_saved_model)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    if args.temperature is not None and not args.temperature >= 0:
        raise ConfigError(f"--temperature must be >= 0. Received: {args.temperature}")
    for flag in ("top_k", "topn", "steps", "length"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise ConfigError(f"--{flag.replace('_', '-')} must be >= 1. Received: {value}")
    from dlkit import inference

    card = inference.read_run(args.run)  # fails fast on a folder that is not a run, before any model loads
    if args.export is not None:
        if args.inputs or args.verify:
            raise ConfigError(
                f"--export writes the model only; drop the inputs. Received: {args.inputs or args.verify}"
            )
        path = inference.export_run(inference.load_run(args.run), args.export, args.format)
        print(f"predict: exported {card['task']} model ({args.format}) -> {path}", flush=True)
        return {"task": card["task"], "export": str(path), "format": args.format}
    if args.verify is not None and card["task"] != "verification":
        raise ConfigError(f"--verify needs a face_verification run. Received: a {card['task']} run")
    if not args.inputs and args.verify is None:
        raise ConfigError(f"Give inputs to predict on ({inference.TASKS[card['task']]}). Received: none")

    out = pathlib.Path(args.out) if args.out else default_out()
    predictor = inference.load_run(args.run)
    options = {
        "classification": {"top_k": args.top_k},
        "detection": {"score_threshold": args.score_threshold},
        "word_vectors": {"topn": args.topn},
        "style_transfer": {"steps": args.steps},
        "language_model": {"length": args.length, "temperature": args.temperature, "seed": args.seed},
        "text_classification": {"top_k": args.top_k},
    }.get(card["task"], {})
    records = []
    if args.verify is not None:
        records.append(predictor.verify(*args.verify))
    if args.inputs:
        records.extend(predictor(args.inputs, out=out, **options))
    for record in records:
        print(predictor.line(record), flush=True)
    out.mkdir(parents=True, exist_ok=True)
    cli.write_json(out / "predictions.json", [_plain(record) for record in records], sort_keys=False)
    metrics = {"task": card["task"], "recipe": card.get("recipe"), "inputs": len(records),
               "total_seconds": round(time.perf_counter() - started, 2)}
    return cli.finish_run(out, metrics, ["task", "inputs", "total_seconds"], recipe="predict")


def default_out():
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return pathlib.Path("runs") / f"predict-{stamp}"


def _plain(record):
    """The record without arrays (a stylized image is written as a file, not into JSON)."""
    return {key: value for key, value in record.items() if not hasattr(value, "shape")}



if __name__ == "__main__":
    sys.exit(cli.run(main))
