"""Multi-task learning on synthetic shapes: multi-label with missing labels, and classification with localization.

``--task multilabel`` (the default) trains one network that says at once which
shapes an image holds -- unlike a softmax, many can be true -- while
``--missing-rate`` of the training labels are unknown (``-1``). The masked binary
cross-entropy skips them and averages over the observed labels only. It then
trains one single-task network per label, with the same trunk, data and epochs,
and compares quality, parameters and seconds: the "when does multi-task learning
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
import time

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


def conv_trunk(input_shape, filters, name="trunk"):
    """A small VGG-style trunk: per-image standardization, then 3x3 conv + ReLU blocks, 2x2 max-pooling after the first three.

    Standardizing each image's channels over its pixels removes the random
    background colour before the first convolution, which speeds learning a lot.

    Args:
        input_shape: ``(height, width, channels)``.
        filters: filters per block.
        name: model name (layers are ``block<i>_conv`` / ``block<i>_pool``).

    Returns:
        A ``keras.Model`` from images to a feature map.
    """
    import keras

    inputs = keras.Input(input_shape, name="image")
    # No scale or offset: a parameter-free per-image, per-channel standardization.
    features = keras.layers.LayerNormalization(axis=(1, 2), center=False, scale=False, name="standardize")(inputs)
    for index, width in enumerate(filters, start=1):
        features = keras.layers.Conv2D(width, 3, padding="same", activation="relu", name=f"block{index}_conv")(features)
        if index <= 3:
            features = keras.layers.MaxPooling2D(2, name=f"block{index}_pool")(features)
    return keras.Model(inputs, features, name=name)


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    from dlkit.data import shapes
    from dlkit.errors import ConfigError

    if not 0.0 <= args.missing_rate < 1.0:
        raise ConfigError(f"--missing-rate must be in [0, 1). Received: {args.missing_rate}")
    classes = tuple(name.strip() for name in args.classes.split(",") if name.strip())
    shapes.generate(0, classes=classes)  # fail fast on an unknown shape name, before TensorFlow starts
    if args.image_size is not None and args.image_size < 16:
        raise ConfigError(f"--image-size must be >= 16. Received: {args.image_size}")
    out = cli.start_run(args, "multitask")
    settings = dict(
        classes=classes,
        image_size=args.image_size or (32 if args.quick else 64),
        train_images=args.train_images or (6000 if args.quick else 30000),
        test_images=600 if args.quick else 2000,
        # Localization is one network (no comparison set), so its quick run affords more epochs.
        epochs=args.epochs or ((6 if args.task == "multilabel" else 12) if args.quick else 30),
        batch_size=args.batch_size or 32,
        filters=(16, 32, 64) if args.quick else (32, 64, 128, 128),
    )
    if args.task == "multilabel":
        metrics, headline = run_multilabel(args, out, **settings)
    else:
        metrics, headline = run_localization(args, out, **settings)
    metrics["total_seconds"] = round(time.perf_counter() - started, 2)
    return cli.finish_run(out, metrics, headline, recipe="multitask")


# --- multi-label with missing labels -------------------------------------------------------------


def run_multilabel(args, out, *, classes, image_size, train_images, test_images, epochs, batch_size, filters):
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from dlkit import inference, training
    from dlkit.data import shapes
    from dlkit.data.adapter import with_adapter
    from dlkit.multitask import build_multitask

    # 1. Data: training labels partly hidden (-1); dev likewise; test fully labeled.
    options = dict(image_size=image_size, batch_size=batch_size, seed=args.seed, classes=classes)
    options.update(background=args.background, size_range=SIZE_RANGE)
    train, info = shapes.load("train", num_images=train_images, missing_rate=args.missing_rate, **options)
    dev, _ = shapes.load("dev", num_images=test_images // 2, missing_rate=args.missing_rate, **options)
    test, _ = shapes.load("test", num_images=test_images, **options)
    test_images_array = np.concatenate([images for images, _ in test.as_numpy_iterator()])
    test_labels = np.concatenate([labels for _, labels in test.as_numpy_iterator()])

    def named(dataset, column=None):
        if column is None:
            return dataset.map(lambda images, labels: (images, {"labels": labels}))
        return dataset.map(lambda images, labels: (images, {"labels": labels[:, column : column + 1]}))

    fit_options = dict(
        epochs=epochs,
        learning_rate=args.learning_rate,
        schedule="cosine",
        strategy=args.strategy,
        mixed_precision=args.mixed_precision,
        verbose=0 if args.quick else "auto",
    )

    # 2. One network, three sigmoid outputs, masked loss.
    def multitask_spec(label_names, name, trunk_name):
        trunk = conv_trunk(info.image_shape, filters, name=trunk_name)
        tasks = {"labels": {"kind": "multilabel", "units": len(label_names), "label_names": label_names}}
        return build_multitask(trunk, tasks, pooling="max", name=name)

    spec = multitask_spec(classes, "multitask", "trunk")
    result = training.fit(
        lambda: multitask_spec(classes, "multitask", "trunk").model,
        named(train),
        named(dev),
        out=out,
        keep_backup=True,  # until metrics.json exists: a rerun after a kill skips the finished phases
        **spec.compile_arguments(),
        **fit_options,
    )
    model = with_adapter(result.model)  # raw 0-255 pixels of any size in
    inference.save_model(model, out / "model.keras")
    inference.write_run(out, "multilabel", "multitask", model="model.keras", label_names=list(classes),
                        output="labels", threshold=0.5)
    probabilities = model.predict(test_images_array * 255.0, verbose=0)["labels"]
    metrics = {"task": "multilabel", "missing_rate": args.missing_rate}
    metrics.update(multilabel_scores(test_labels, probabilities, classes, roc_auc_score))
    metrics["multitask_params"] = model.count_params()
    metrics["multitask_seconds"] = round(result.seconds, 2)
    metrics["train_observed_fraction"] = observed_fraction(train)

    # 3. The comparison: one network per label, same trunk, data and epochs.
    single = np.zeros_like(probabilities)
    if not args.no_single_task:
        params, seconds = 0, 0.0
        for column, label in enumerate(classes):
            single_spec = multitask_spec((label,), f"single_{label}", f"trunk_{label}")
            single_result = training.fit(
                lambda: multitask_spec((label,), f"single_{label}", f"trunk_{label}").model,
                named(train, column),
                named(dev, column),
                out=out / f"single_task_{label}",  # each comparison network resumes on its own
                keep_backup=True,
                **single_spec.compile_arguments(),
                **fit_options,
            )
            single[:, column] = single_result.model.predict(test_images_array, verbose=0)["labels"][:, 0]
            params += single_result.model.count_params()
            seconds += single_result.seconds
        scores = multilabel_scores(test_labels, single, classes, roc_auc_score)
        metrics.update({f"single_task_{key}": value for key, value in scores.items()})
        metrics["single_task_params"] = params
        metrics["single_task_seconds"] = round(seconds, 2)
        plot_comparison(metrics, classes, out / "comparison.png")
    metrics["epochs"] = len(result.history.get("loss", []))

    plot_curves(result.history, out / "curves.png", "multi-label: masked binary cross-entropy")
    plot_multilabel_samples(test_images_array[:16], test_labels[:16], probabilities[:16], classes, out / "samples.png")
    headline = ["mean_auc", "single_task_mean_auc", "mean_accuracy", "multitask_params", "single_task_params"]
    return metrics, headline


def multilabel_scores(labels, probabilities, classes, roc_auc_score):
    """Per-label and mean AUC and accuracy (threshold 0.5) on fully labeled images."""
    import numpy as np

    scores = {}
    for column, label in enumerate(classes):
        truth = labels[:, column]
        # AUC needs both classes present; a test set without one gets NaN (written as null).
        both = 0 < truth.sum() < len(truth)
        scores[f"auc_{label}"] = float(roc_auc_score(truth, probabilities[:, column])) if both else float("nan")
        scores[f"accuracy_{label}"] = float(np.mean((probabilities[:, column] > 0.5) == truth))
    scores["mean_auc"] = float(np.nanmean([scores[f"auc_{label}"] for label in classes]))
    scores["mean_accuracy"] = float(np.mean([scores[f"accuracy_{label}"] for label in classes]))
    return scores


def observed_fraction(dataset):
    import numpy as np

    labels = np.concatenate([labels for _, labels in dataset.as_numpy_iterator()])
    return float(np.mean(labels >= 0))


# --- classification with localization ------------------------------------------------------------


def run_localization(args, out, *, classes, image_size, train_images, test_images, epochs, batch_size, filters):
    import numpy as np

    from dlkit import inference, training
    from dlkit.data import shapes
    from dlkit.data.adapter import with_adapter
    from dlkit.multitask import build_multitask

    # 1. Data: one shape or none per image, with its box, class and three landmarks.
    options = dict(image_size=image_size, batch_size=batch_size, seed=args.seed, classes=classes, landmarks=True)
    options.update(background=args.background, size_range=SIZE_RANGE)
    train, info = shapes.load("train", task="localization", num_images=train_images, **options)
    dev, _ = shapes.load("dev", task="localization", num_images=test_images // 2, **options)
    test, _ = shapes.load("test", task="localization", num_images=test_images, **options)
    test_images_array = np.concatenate([images for images, _ in test.as_numpy_iterator()])
    targets = [target for _, target in test.as_numpy_iterator()]
    truth = np.concatenate([target["localization"] for target in targets])
    truth_landmarks = np.concatenate([target["landmarks"] for target in targets])

    # 2. A trunk whose features keep where things are (flatten, not pooling), two heads.
    def build_spec():
        trunk = conv_trunk(info.image_shape, filters, name="trunk")
        tasks = {
            "localization": {"kind": "localization", "units": len(classes), "hidden": 128},
            "landmarks": {"kind": "landmarks", "units": 2 * shapes.NUM_LANDMARKS, "hidden": 128, "loss_weight": 5.0},
        }
        return build_multitask(trunk, tasks, pooling="flatten", name="localizer")

    spec = build_spec()
    result = training.fit(
        lambda: build_spec().model,
        train,
        dev,
        out=out,
        keep_backup=True,
        learning_rate=args.learning_rate,
        schedule="cosine",
        epochs=epochs,
        strategy=args.strategy,
        mixed_precision=args.mixed_precision,
        verbose=0 if args.quick else "auto",
        **spec.compile_arguments(),
    )
    model = with_adapter(result.model)  # raw 0-255 pixels of any size in
    inference.save_model(model, out / "model.keras")
    inference.write_run(out, "localization", "multitask", model="model.keras", class_names=list(classes),
                        threshold=0.5)
    predictions = model.predict(test_images_array * 255.0, verbose=0)
    metrics = {"task": "localization"}
    metrics.update(localization_scores(truth, predictions["localization"], truth_landmarks, predictions["landmarks"], image_size))
    metrics["params"] = model.count_params()
    metrics["seconds"] = round(result.seconds, 2)
    metrics["epochs"] = len(result.history.get("loss", []))

    plot_curves(result.history, out / "curves.png", "classification with localization")
    # Mostly images with an object (12), a few without (4).
    present = np.flatnonzero(truth[:, 0] > 0.5)
    shown = np.sort(np.concatenate([present[:12], np.flatnonzero(truth[:, 0] <= 0.5)[:4]]))
    plot_localization_samples(
        test_images_array[shown], truth[shown], predictions["localization"][shown], predictions["landmarks"][shown],
        classes, out / "samples.png",
    )
    return metrics, ["class_accuracy", "mean_iou", "objectness_accuracy", "landmark_error_pixels", "params"]


def localization_scores(truth, predicted, truth_landmarks, predicted_landmarks, image_size):
    """Class accuracy, box IoU and landmark error on images that hold an object; objectness on all."""
    import numpy as np

    present = truth[:, 0] > 0.5
    scores = {"objectness_accuracy": float(np.mean((predicted[:, 0] > 0.5) == present))}
    if present.any():
        scores["class_accuracy"] = float(np.mean(np.argmax(truth[present, 5:], 1) == np.argmax(predicted[present, 5:], 1)))
        scores["mean_iou"] = float(np.mean(iou(truth[present, 1:5], predicted[present, 1:5])))
        difference = (truth_landmarks[present] - predicted_landmarks[present]).reshape(-1, 2) * image_size
        scores["landmark_error_pixels"] = float(np.mean(np.linalg.norm(difference, axis=1)))
    return scores


def iou(first, second):
    """IoU of matching rows of two (N, 4) xyxy arrays (NumPy; 0 for empty boxes)."""
    import numpy as np

    width = np.clip(np.minimum(first[:, 2], second[:, 2]) - np.maximum(first[:, 0], second[:, 0]), 0, None)
    height = np.clip(np.minimum(first[:, 3], second[:, 3]) - np.maximum(first[:, 1], second[:, 1]), 0, None)
    intersection = width * height

    def area(box):
        return np.clip(box[:, 2] - box[:, 0], 0, None) * np.clip(box[:, 3] - box[:, 1], 0, None)

    union = area(first) + area(second) - intersection
    return np.divide(intersection, union, out=np.zeros_like(union), where=union > 0)


# --- pictures ------------------------------------------------------------------------------------


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(history, path, title):
    """Training and validation loss per epoch."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(5, 3.5))
    epochs = range(1, len(history.get("loss", [])) + 1)
    axes.plot(epochs, history.get("loss", []), "o-", label="train")
    if history.get("val_loss"):
        axes.plot(epochs, history["val_loss"], "o-", label="dev")
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss")
    axes.set_title(title, fontsize=10)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_multilabel_samples(images, labels, probabilities, classes, path):
    """Test images, each with its predicted probability per label (green right, red wrong)."""
    plt = _pyplot()
    columns = 4
    rows = (len(images) + columns - 1) // columns
    cell_height = 2.3 + 0.22 * len(classes)  # room under each image for one line per label
    figure, axes = plt.subplots(rows, columns, figsize=(2.3 * columns, cell_height * rows + 0.4), squeeze=False)
    for index, axis in enumerate(axes.ravel()):
        axis.axis("off")
        if index >= len(images):
            continue
        axis.imshow(images[index].squeeze(), cmap="gray" if images[index].shape[-1] == 1 else None)
        for line, label in enumerate(classes):
            probability = probabilities[index, line]
            right = (probability > 0.5) == bool(labels[index, line])
            mark = "yes" if probability > 0.5 else "no"
            axis.text(
                0.0, -0.03 - 0.1 * line, f"{label}: {mark} ({probability:.2f})", transform=axis.transAxes,
                fontsize=7.5, va="top", color="tab:green" if right else "tab:red",
            )
    figure.suptitle("multi-label predictions on test images (green = right, red = wrong)", fontsize=10)
    height = cell_height * rows + 0.4
    figure.subplots_adjust(left=0.02, right=0.98, top=1 - 0.45 / height, bottom=(0.22 * len(classes) + 0.05) / height,
                           wspace=0.08, hspace=0.1 * len(classes))
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_comparison(metrics, classes, path):
    """Per-label AUC of the multi-task network vs one network per label, with their sizes and times."""
    import numpy as np

    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6, 4.2))
    positions = np.arange(len(classes))
    multi = [metrics[f"auc_{label}"] for label in classes]
    single = [metrics[f"single_task_auc_{label}"] for label in classes]
    axes.bar(positions - 0.2, multi, 0.4, label=f"multi-task ({metrics['multitask_params']:,} params, "
             f"{metrics['multitask_seconds']:.0f} s)")
    axes.bar(positions + 0.2, single, 0.4, label=f"single-task x{len(classes)} ({metrics['single_task_params']:,} "
             f"params, {metrics['single_task_seconds']:.0f} s)")
    for position, (first, second) in enumerate(zip(multi, single)):
        axes.text(position - 0.2, first + 0.005, f"{first:.3f}", ha="center", fontsize=7)
        axes.text(position + 0.2, second + 0.005, f"{second:.3f}", ha="center", fontsize=7)
    low = min(multi + single)
    axes.set_ylim(max(0.0, low - 0.1), 1.02)
    axes.set_xticks(positions, classes)
    axes.set_ylabel("test AUC")
    axes.set_title(f"{metrics['missing_rate']:.0%} of training labels missing", fontsize=10)
    axes.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=1, frameon=False)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_localization_samples(images, truth, predicted, landmarks, classes, path):
    """Test images with the true box (dashed white), the predicted box, class and landmarks."""
    plt = _pyplot()
    from matplotlib.patches import Rectangle

    columns = 4
    rows = (len(images) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(2.3 * columns, 2.5 * rows))
    for index, axis in enumerate(axes.ravel()):
        axis.axis("off")
        if index >= len(images):
            continue
        image = images[index]
        height, width = image.shape[:2]
        axis.imshow(image.squeeze(), cmap="gray" if image.shape[-1] == 1 else None)
        scale = [width, height, width, height]
        if truth[index, 0] > 0.5:
            x0, y0, x1, y1 = truth[index, 1:5] * scale
            axis.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec="white", ls="--", lw=1))
        if predicted[index, 0] > 0.5:
            x0, y0, x1, y1 = predicted[index, 1:5] * scale
            class_id = int(predicted[index, 5:].argmax())
            right = truth[index, 0] > 0.5 and class_id == int(truth[index, 5:].argmax())
            color = "lime" if right else "red"
            axis.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec=color, lw=1.5))
            points = landmarks[index].reshape(-1, 2) * [width, height]
            axis.plot(points[:, 0] - 0.5, points[:, 1] - 0.5, "o", ms=3, color="yellow", mec="black", mew=0.5)
            axis.set_title(f"{classes[class_id]} {predicted[index, 5 + class_id]:.2f}", fontsize=8, color=color)
        else:
            right = truth[index, 0] <= 0.5
            axis.set_title(f"no object ({predicted[index, 0]:.2f})", fontsize=8, color="green" if right else "red")
    figure.suptitle("predicted box, class, landmarks (dashed: truth)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)



if __name__ == "__main__":
    sys.exit(cli.run(main))
