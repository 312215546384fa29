"""Fine-tuning on small photo folders: dlkit's two-phase recipe against a logistic regression on the same features.

For each small folder of real photographs (:mod:`dlkit.data.photo_folders`:
``textures`` 3 classes x 16, ``scenes`` 5 x 12, ``faces`` 2 x 30; photos other
than the transfer recipe's own) and each split seed:

* ``dlkit``: ``recipes/transfer_learning.py --backbone vgg16 --weights vgg16-hed
  --dataset FOLDER --image-size 128 --split-seed S`` as a user runs it (two
  phases, the defaults), its ``test_accuracy``;
* ``logistic_regression``: scikit-learn's ``LogisticRegression`` on the frozen
  base's average-pooled features (the same VGG16 weights and caffe
  preprocessing), standardized with the training split's statistics, fitted
  on the same training split and scored on the same test split.

Then the recipe's ``--mode pretrained`` (which of eight photos a grey crop comes
from; VGG16 block4, max-pooled) against a logistic regression on its cached
features. Target: dlkit >= the logistic regression on every folder.

    PYTHONPATH=. python benchmarks/transfer.py [--seeds 5] [--folders textures,scenes,faces]

Prints one JSON object (and a line per run on stderr). Accuracies do not depend
on the machine's load; the seconds per run in the report do.
"""

import argparse
import contextlib
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from timing import Session  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "recipes"))

SIZES = {"textures": 16, "scenes": 12, "faces": 30}


def logistic_regression_accuracy(features, labels, train, test):
    from sklearn.linear_model import LogisticRegression

    mean, std = features[train].mean(axis=0), features[train].std(axis=0) + 1e-6
    model = LogisticRegression(max_iter=5000).fit((features[train] - mean) / std, labels[train])
    return float(model.score((features[test] - mean) / std, labels[test]))


def folder_features(folder, image_size):
    """Average-pooled frozen VGG16 (vgg16-hed) features of every image of the folder, in the loader's order."""
    from dlkit import data, transfer

    extractor = transfer.build_feature_extractor("vgg16", weights="vgg16-hed", input_shape=(image_size, image_size, 3),
                                                 pooling="avg")
    dataset, _ = data.load(str(folder), "all", image_size=image_size, channels=3, normalize=False, shuffle=False)
    return transfer.extract_features(extractor, dataset)


def run_folder(name, root, seeds, image_size, log):
    import transfer_learning

    from dlkit.data import folders, photo_folders

    folder = photo_folders.make_folder(root / name, name, SIZES[name], seed=0)
    features, labels = folder_features(folder, image_size)
    results = {"classes": len(photo_folders.FOLDERS[name]), "images": int(len(labels)), "dlkit": [],
               "logistic_regression": [], "test_images": [], "dlkit_seconds": []}
    for seed in range(seeds):
        train = folders.split_files(labels, "train", seed)
        test = folders.split_files(labels, "test", seed)
        started = time.perf_counter()
        with contextlib.redirect_stdout(log):  # the recipe's progress; stdout is the JSON report's
            metrics = transfer_learning.main(["--backbone", "vgg16", "--weights", "vgg16-hed", "--dataset",
                                              str(folder), "--image-size", str(image_size), "--split-seed", str(seed),
                                              "--out", str(root / f"{name}-run{seed}")])
        results["dlkit_seconds"].append(round(time.perf_counter() - started, 1))
        results["dlkit"].append(metrics["test_accuracy"])
        results["logistic_regression"].append(logistic_regression_accuracy(features, labels, train, test))
        results["test_images"].append(int(len(test)))
        print(f"{name} split {seed}: dlkit {results['dlkit'][-1]:.3f}, logistic regression "
              f"{results['logistic_regression'][-1]:.3f} ({len(test)} test images)", file=log, flush=True)
    results["dlkit_mean"] = float(np.mean(results["dlkit"]))
    results["logistic_regression_mean"] = float(np.mean(results["logistic_regression"]))
    results["met"] = results["dlkit_mean"] >= results["logistic_regression_mean"]
    return results


def run_pretrained_mode(root, log):
    """The recipe's pretrained mode (quick) against a logistic regression on its own cached features."""
    import transfer_learning

    from dlkit.data import photos

    out = root / "pretrained"
    with contextlib.redirect_stdout(log):
        metrics = transfer_learning.main(["--mode", "pretrained", "--quick", "--out", str(out)])
    # The recipe's quick crops (its features are cached without labels): 16 training, 20 test crops per photo.
    crops = dict(image_size=64, seed=0, grayscale=True, lighting=0.5)
    train_labels = photos.photo_crops("train", 16, **crops)[1]
    test_labels = photos.photo_crops("test", 20, **crops)[1]
    labels = np.concatenate([train_labels, test_labels])
    train, test = np.arange(len(train_labels)), np.arange(len(train_labels), len(labels))
    result = {"dlkit_pretrained": metrics["pretrained_accuracy"], "dlkit_random_init": metrics["random_init_accuracy"]}
    for arm in ("pretrained", "random_init"):
        parts = [np.load(next((out / "features").glob(f"{arm}_*_{part}*.npz")))["features"]
                 for part in ("train", "test")]
        result[f"logistic_regression_{arm}"] = logistic_regression_accuracy(np.concatenate(parts), labels, train, test)
    print(f"pretrained mode: {result}", file=log, flush=True)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5, help="split seeds per folder (default 5)")
    parser.add_argument("--folders", default="textures,scenes,faces")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--no-pretrained-mode", action="store_true")
    args = parser.parse_args(argv)
    session = Session("transfer: fine-tuning on small photo folders vs a logistic regression on the same features",
                      {"image_size": args.image_size, "seeds": args.seeds, "folders": args.folders},
                      sensitive="the seconds (not the accuracies)")
    report = {}
    with tempfile.TemporaryDirectory() as temporary:
        root = pathlib.Path(temporary)
        for name in args.folders.split(","):
            report[name] = run_folder(name, root, args.seeds, args.image_size, sys.stderr)
        if not args.no_pretrained_mode:
            report["pretrained_mode"] = run_pretrained_mode(root, sys.stderr)
    return session.finish(report)


if __name__ == "__main__":
    main()
