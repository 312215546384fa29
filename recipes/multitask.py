"""Multi-task learning on synthetic shapes: multi-label with missing labels, and classification with localization.

``--task multilabel`` (the default) trains one network that says at once which
shapes an image holds -- unlike a softmax, many can be true -- while
``--missing-rate`` of the training labels are unknown (``-1``). The masked binary
cross-entropy skips them and averages over the observed labels only. It then
trains one single-task network per label, with the same trunk, data and epochs,
and compares quality, parameters and training time: the "when does multi-task learning
make sense" question (shared low-level features, similar amounts of data per task).
All scores are on fully labeled test images.

``--task localization`` trains classification with localization on images with
one shape or none: ``y = [p_c, x_min, y_min, x_max, y_max, c_1..c_k]`` with a loss
that ignores the box and the class when ``p_c = 0``, plus a landmarks head (the
shape's three key points, masked when there is no object).

    python recipes/multitask.py --quick                              # multi-label, 30% labels missing, < 60 s
    python recipes/multitask.py                                      # the GPU-sized run
    python recipes/multitask.py --missing-rate 0.6 --classes circle,square,triangle,ring
    python recipes/multitask.py --task localization --quick          # boxes, classes and landmarks

Writes into --out (default runs/multitask-<timestamp>): config.json, metrics.json,
model.keras (raw 0-255 pixels of any size in), run.json (label names), history.csv,
curves.png, samples.png and, for multi-label, comparison.png (multi-task vs
single-task per label). ``python recipes/predict.py RUN_DIR image.png`` gives each
label's probability (or the object's class, box and landmarks).
"""

import sys

from dlkit import cli

TASKS = ("multilabel", "localization")
# Shapes from a fifth to half of the image side: big enough to tell apart at 32 x 32.
SIZE_RANGE = (0.25, 0.5)


def parse_args(argv=None):
    parser = cli.recipe_parser("multitask", __doc__)
    parser.add_argument("--task", choices=TASKS, default="multilabel", help="what to train (default: multilabel)")
    parser.add_argument(
        "--missing-rate", type=cli.fraction, default=0.3,
        help="fraction of training labels hidden, below 1 (multilabel; default 0.3)",
    )
    parser.add_argument("--classes", default="circle,square,triangle", help="comma-separated shape names")
    parser.add_argument("--image-size", type=cli.image_size, default=None,
                        help="image side in pixels, at least 16 (default: 32 quick, 64)")
    parser.add_argument("--train-images", type=cli.positive_int, default=None,
                        help="training images (default: 6000 quick, 30000)")
    parser.add_argument("--background", choices=("noise", "plain"), default="noise", help="scene background")
    parser.add_argument("--learning-rate", type=cli.positive_float, default=5e-3,
                        help="initial rate of the cosine schedule")
    parser.add_argument("--no-single-task", action="store_true", help="skip the single-task comparison")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from dlkit.data import shapes
    from dlkit.errors import ConfigError

    if not 0.0 <= args.missing_rate < 1.0:
        raise ConfigError(f"--missing-rate must be in [0, 1). Received: {args.missing_rate}")
    classes = tuple(name.strip() for name in args.classes.split(",") if name.strip())
    shapes.generate(0, classes=classes)  # fail fast on an unknown shape name, before TensorFlow starts
    if args.image_size is not None and args.image_size < 16:
        raise ConfigError(f"--image-size must be >= 16. Received: {args.image_size}")
    out = cli.start_run(args, "multitask")
    settings = {
        "classes": classes,
        "image_size": args.image_size or (32 if args.quick else 64),
        "train_images": args.train_images or (6000 if args.quick else 30000),
        "test_images": 600 if args.quick else 2000,
        # Localization is one network (no comparison set), so its quick run affords more epochs.
        "epochs": args.epochs or ((6 if args.task == "multilabel" else 12) if args.quick else 30),
        "batch_size": args.batch_size or 32,
        "filters": (16, 32, 64) if args.quick else (32, 64, 128, 128),
    }
    run = run_multilabel if args.task == "multilabel" else run_localization
    metrics, headline = run(args, out, settings)
    return cli.finish_run(out, metrics, headline, recipe="multitask")


def load_shapes(args, task, settings):
    """Train and dev sets (partly hidden labels for multi-label), and the fully labeled test set as NumPy arrays."""
    import numpy as np

    from dlkit.data import shapes

    options = {key: settings[key] for key in ("image_size", "batch_size", "classes")}
    options.update(task=task, seed=args.seed, background=args.background, size_range=SIZE_RANGE)
    if task == "localization":
        options["landmarks"] = True  # one shape or none per image, with its box, class and three landmarks
    hidden = {"missing_rate": args.missing_rate} if task == "multilabel" else {}
    train, info = shapes.load("train", num_images=settings["train_images"], **hidden, **options)
    dev, _ = shapes.load("dev", num_images=settings["test_images"] // 2, **hidden, **options)
    test, _ = shapes.load("test", num_images=settings["test_images"], **options)
    batches = list(test.as_numpy_iterator())
    images = np.concatenate([images for images, _ in batches])
    if task == "multilabel":
        return train, dev, info, images, np.concatenate([labels for _, labels in batches])
    targets = {key: np.concatenate([target[key] for _, target in batches]) for key in ("localization", "landmarks")}
    return train, dev, info, images, targets


def fit_options(args, settings):
    """The ``training.fit`` arguments every network of the run shares."""
    return {
        "epochs": settings["epochs"],
        "learning_rate": args.learning_rate,
        "schedule": "cosine",
        "strategy": args.strategy,
        "mixed_precision": args.mixed_precision,
        **cli.progress_options(args),
        "keep_backup": True,  # until metrics.json exists: a rerun after a kill skips the finished phases
    }


# --- multi-label with missing labels -------------------------------------------------------------


def run_multilabel(args, out, settings):
    import numpy as np

    from dlkit import evaluation, inference, training
    from dlkit.data.adapter import with_adapter
    from dlkit.multitask import (
        build_multitask,
        compile_arguments,
        conv_trunk,
        multilabel_scores,
        plots,
    )

    # 1. Data: training and dev labels partly hidden (-1); test fully labeled.
    classes = settings["classes"]
    train, dev, info, test_images, test_labels = load_shapes(args, "multilabel", settings)

    def train_network(label_names, name, trunk_name, folder, column=None):
        """One network with a multi-label head on its own trunk, trained on the columns of ``label_names``."""
        tasks = {"labels": {"kind": "multilabel", "units": len(label_names), "label_names": label_names}}

        def named(dataset):  # targets keyed by the output's name, one column for a single-task network
            if column is None:
                return dataset.map(lambda images, labels: (images, {"labels": labels}))
            return dataset.map(lambda images, labels: (images, {"labels": labels[:, column : column + 1]}))

        def build():
            trunk = conv_trunk(info.image_shape, settings["filters"], name=trunk_name)
            return build_multitask(trunk, tasks, pooling="max", name=name).model

        return training.fit(build, named(train), named(dev), out=folder, **compile_arguments(tasks),
                            **fit_options(args, settings))

    # 2. One network, one sigmoid output per label, the masked loss.
    result = train_network(classes, "multitask", "trunk", out)
    model = with_adapter(result.model)  # raw 0-255 pixels of any size in
    inference.save_model(model, out / "model.keras")
    inference.write_run(out, "multilabel", "multitask", model="model.keras", label_names=list(classes),
                        output="labels", threshold=0.5)
    probabilities = model.predict(test_images * 255.0, verbose=0)["labels"]
    metrics = {"task": "multilabel", "missing_rate": args.missing_rate}
    metrics.update(multilabel_scores(test_labels, probabilities, classes))
    metrics["params"] = model.count_params()
    metrics["multitask_train_seconds"] = round(result.seconds, 2)
    labels = np.concatenate([labels for _, labels in train.as_numpy_iterator()])
    metrics["train_observed_fraction"] = float(np.mean(labels >= 0))

    # 3. The comparison: one network per label, same trunk, data and epochs.
    seconds = 0.0
    if not args.no_single_task:
        single, params = np.zeros_like(probabilities), 0
        for column, label in enumerate(classes):
            # Each comparison network resumes on its own.
            one = train_network((label,), f"single_{label}", f"trunk_{label}", out / f"single_task_{label}", column)
            single[:, column] = one.model.predict(test_images, verbose=0)["labels"][:, 0]
            params += one.model.count_params()
            seconds += one.seconds
        scores = multilabel_scores(test_labels, single, classes)
        metrics.update({f"single_task_{key}": value for key, value in scores.items()})
        metrics["single_task_params"] = params
        metrics["single_task_train_seconds"] = round(seconds, 2)
        plots.plot_comparison(metrics, classes, out / "comparison.png")
    metrics["train_seconds"] = round(result.seconds + seconds, 2)
    metrics["epochs"] = len(result.history.get("loss", []))

    evaluation.plot_curves(result.history, out / "curves.png", "multi-label: masked binary cross-entropy")
    plots.plot_multilabel_samples(test_images[:16], test_labels[:16], probabilities[:16], classes,
                                  out / "samples.png")
    return metrics, ["mean_auc", "single_task_mean_auc", "mean_accuracy", "params", "single_task_params"]


# --- classification with localization ------------------------------------------------------------


def run_localization(args, out, settings):
    import numpy as np

    from dlkit import evaluation, inference, training
    from dlkit.data import shapes
    from dlkit.data.adapter import with_adapter
    from dlkit.multitask import (
        build_multitask,
        compile_arguments,
        conv_trunk,
        localization_scores,
        plots,
    )

    # 1. Data: one shape or none per image, with its box, class and three landmarks.
    classes = settings["classes"]
    train, dev, info, test_images, truth = load_shapes(args, "localization", settings)

    # 2. A trunk whose features keep where things are (flatten, not pooling), two heads.
    tasks = {
        "localization": {"kind": "localization", "units": len(classes), "hidden": 128},
        "landmarks": {"kind": "landmarks", "units": 2 * shapes.NUM_LANDMARKS, "hidden": 128, "loss_weight": 5.0},
    }

    def build():
        trunk = conv_trunk(info.image_shape, settings["filters"], name="trunk")
        return build_multitask(trunk, tasks, pooling="flatten", name="localizer").model

    result = training.fit(build, train, dev, out=out, **compile_arguments(tasks), **fit_options(args, settings))
    model = with_adapter(result.model)  # raw 0-255 pixels of any size in
    inference.save_model(model, out / "model.keras")
    inference.write_run(out, "localization", "multitask", model="model.keras", class_names=list(classes),
                        threshold=0.5)

    # 3. Scores on the test images: class, box and landmarks where there is an object; objectness on all.
    predicted = model.predict(test_images * 255.0, verbose=0)
    metrics = {"task": "localization"}
    metrics.update(localization_scores(truth["localization"], predicted["localization"], truth["landmarks"],
                                       predicted["landmarks"], settings["image_size"]))
    metrics["params"] = model.count_params()
    metrics["train_seconds"] = round(result.seconds, 2)
    metrics["epochs"] = len(result.history.get("loss", []))

    evaluation.plot_curves(result.history, out / "curves.png", "classification with localization")
    # Mostly images with an object (12), a few without (4).
    present = truth["localization"][:, 0] > 0.5
    shown = np.sort(np.concatenate([np.flatnonzero(present)[:12], np.flatnonzero(~present)[:4]]))
    plots.plot_localization_samples(test_images[shown], truth["localization"][shown],
                                    predicted["localization"][shown], predicted["landmarks"][shown], classes,
                                    out / "samples.png")
    return metrics, ["class_accuracy", "mean_iou", "objectness_accuracy", "landmark_error_pixels", "params"]


if __name__ == "__main__":
    sys.exit(cli.run(main))
