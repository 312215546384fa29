"""Image classification: any registered model on digits, a TFDS set, or your own folder.

Trains a model from the registry (LeNet-5 by default) on a dataset (scikit-learn's
offline digits by default), then reports train/dev/test accuracy, a per-class
report, and the bias/variance diagnosis, and writes them with the pictures.

    python recipes/classify.py                       # LeNet-5 on digits, ~1 min on 2 CPU cores
    python recipes/classify.py --quick               # under 60 s
    python recipes/classify.py --model mlp --model-arg hidden_units=(256,128) --model-arg dropout=0.2
    python recipes/classify.py --dataset mnist --data-dir ~/tensorflow_datasets      # TFDS (downloads once)
    python recipes/classify.py --dataset path/to/photos --image-size 64 --augment    # one sub-folder per class
    python recipes/classify.py --train-dev-from blur  # train on sharp digits, dev/test blurred: data mismatch

Writes into --out (default runs/classify-<timestamp>): config.json, metrics.json,
model.keras, run.json, history.csv, curves.png, confusion_matrix.png. The model
takes raw pixels of any image (its ImageAdapter resizes, converts channels and, for
digits, inverts and crops dark-on-light photos); run.json holds the class names:

    python recipes/predict.py runs/classify-... my_digit.jpg
"""

import ast
import sys

from dlkit import cli

#: dlkit.data.shift.SHIFTS and dlkit.training.SCHEDULES (named here so that --help does not import TensorFlow).
SHIFTS = ("blur", "noise", "contrast", "background")
SCHEDULES = ("constant", "exponential", "step", "cosine", "inverse_time", "inverse_sqrt", "plateau")


def parse_args(argv=None):
    parser = cli.recipe_parser("classify", __doc__)
    parser.add_argument("--model", default="lenet5", help="a registered model name (default: lenet5)")
    parser.add_argument(
        "--model-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra builder argument, e.g. --model-arg width_multiplier=0.25 (repeatable)",
    )
    parser.add_argument("--dataset", default="digits", help="digits, a TFDS name, or an image folder")
    parser.add_argument("--image-size", type=cli.image_size, default=None, help="resize images to N x N")
    parser.add_argument("--optimizer", default="adam", choices=("sgd", "rmsprop", "adam", "adamw", "adagrad"))
    parser.add_argument("--learning-rate", type=cli.positive_float, default=2e-3)
    parser.add_argument("--schedule", default="cosine", choices=SCHEDULES,
                        help="learning-rate schedule (dlkit.training.learning_rate_schedule; default: cosine)")
    parser.add_argument("--augment", action="store_true", help="random crop, rotation (and flip, colour for RGB)")
    parser.add_argument("--skip-bad-images", action="store_true", help="skip unreadable images in a folder")
    parser.add_argument(
        "--train-dev-from", choices=SHIFTS, default=None,
        help="the notes' data-mismatch case: dev and test images changed this way (dlkit.data.shift: the "
             "distribution you care about), training images as they are, and a train-dev set held out from them. "
             "Reports train-dev accuracy and the data-mismatch gap",
    )
    return parser.parse_args(argv)


def model_overrides(pairs):
    """Parses ``KEY=VALUE`` pairs; values are Python literals or plain strings."""
    from dlkit.errors import ConfigError

    overrides = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise ConfigError(f"--model-arg must look like KEY=VALUE. Received: {pair!r}")
        try:
            overrides[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[key] = value
    return overrides


def default_image_size(dataset):
    if dataset == "digits":
        return 32  # LeNet-5's input size; the 8x8 digits are upsampled
    return None  # TFDS sets keep their native size; folders and varying sizes must say


def train_dev_case(args, options, info):
    """The notes' case: training images as they are, dev and test from a shifted distribution, and a train-dev set.

    Returns ``(train, {"train", "train_dev", "dev", "test"})``: the train-dev set
    is held out from the training images (as large as the dev set, at most a
    fifth of them); dev and test are the dataset's own dev and test images
    changed by ``--train-dev-from`` (:func:`dlkit.data.shift.shift_images`).
    """
    from dlkit import data
    from dlkit.data import shift

    unbatched = {**options, "batch_size": None}
    batch_size = options["batch_size"]

    def shifted(split):
        examples, _ = data.load(args.dataset, split, shuffle=False, **unbatched)
        changed = examples.map(lambda image, label: (shift.shift_images(image, args.train_dev_from, args.seed), label))
        return changed.cache().batch(batch_size)

    dev, test = shifted("dev"), shifted("test")
    examples, _ = data.load(args.dataset, "train", shuffle=False, **unbatched)
    examples = examples.cache()
    total = info.num_examples or sum(1 for _ in examples)
    count = max(1, min(sum(int(labels.shape[0]) for _, labels in dev), total // 5))
    train_part, train_dev = shift.train_dev_split(examples, count)
    train = train_part.shuffle(total, seed=args.seed, reshuffle_each_iteration=True).batch(batch_size).prefetch(2)
    return train, {"train": train_part.batch(batch_size), "train_dev": train_dev.batch(batch_size), "dev": dev,
                   "test": test}


def main(argv=None):
    args = parse_args(argv)
    out = cli.start_run(args, "classify")

    import keras

    from dlkit import data, evaluation, inference, models, training
    from dlkit.data import augment
    from dlkit.data.adapter import ImageAdapter
    from dlkit.errors import ConfigError

    image_size = args.image_size or default_image_size(args.dataset)
    epochs = args.epochs or (10 if args.quick else 40)
    batch_size = args.batch_size or 32
    overrides = model_overrides(args.model_arg)
    models.get(args.model)  # fail fast on a bad name, before loading data
    if overrides.get("aux_heads"):
        # Three outputs need a label and a loss weight each; classify reports one softmax.
        raise ConfigError(
            "classify trains single-output models; train a GoogLeNet with aux_heads=True through "
            "dlkit.training.fit(loss=inception.auxiliary_losses(), loss_weights=inception.auxiliary_loss_weights()) "
            "(docs/model_zoo.md). Received: --model-arg aux_heads=True"
        )

    # 1. Data: train (shuffled), dev for model selection, test held out until the end; raw 0-255 pixels.
    options = dict(image_size=image_size, batch_size=batch_size, data_dir=args.data_dir, seed=args.seed,
                   normalize=False)
    if args.skip_bad_images:
        options["skip_bad_images"] = True
    train, info = data.load(args.dataset, "train", **options)
    dev, _ = data.load(args.dataset, "dev", **options)
    test, _ = data.load(args.dataset, "test", **options)
    train_eval, _ = data.load(args.dataset, "train", shuffle=False, **options)
    evaluated = {"train": train_eval, "dev": dev, "test": test}
    if args.train_dev_from:
        train, evaluated = train_dev_case(args, options, info)
        dev, test = evaluated["dev"], evaluated["test"]

    # 2. Model: raw pixels -> ImageAdapter (size, channels, [0, 1], the dataset's ink conventions) ->
    #    optional augmentation -> any registry builder. Trained through the adapter, served through it.
    def build():
        network = models.build(
            args.model, input_shape=info.image_shape, num_classes=info.num_classes, **overrides
        )
        pixels = keras.Input((None, None, None), name="pixels")
        x = ImageAdapter(info.image_shape[:2], channels=info.image_shape[-1], name="adapter", **info.adapter)(pixels)
        if args.augment:
            color = info.image_shape[-1] == 3
            x = augment.augmentation(
                flip="horizontal" if color else None, crop=0.1, rotation=0.05, color=0.1 if color else 0,
                seed=args.seed,
            )(x)
        return keras.Model(pixels, network(x), name=network.name)

    # 3. Train with the dev set as validation; the best dev epoch is restored.
    result = training.fit(
        build,
        train,
        dev,
        epochs=epochs,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        schedule=args.schedule,
        out=out,
        restore_best=True,
        keep_backup=True,  # until metrics.json exists: a rerun after a kill skips to the end
        strategy=args.strategy,
        mixed_precision=args.mixed_precision,
        **cli.progress_options(args),
    )
    model = result.model
    inference.save_model(model, out / "model.keras")
    inference.write_run(out, "classification", "classify", model="model.keras", class_names=info.class_names,
                        dataset=str(args.dataset), adapter=model.get_layer("adapter").conventions())

    # 4. Evaluate on all three splits and diagnose bias vs variance.
    reports = {}
    for split, dataset in evaluated.items():
        y_true, probabilities = evaluation.predict_classes(model, dataset)
        reports[split] = evaluation.classification_report(y_true, probabilities, info.class_names)
    accuracy = {split: report["accuracy"] for split, report in reports.items()}
    gaps = {}
    if args.train_dev_from:  # the notes' four-gap table: variance, data mismatch and dev overfitting apart
        gaps = {"train_dev_error": 1 - accuracy["train_dev"], "test_error": 1 - accuracy["test"]}
    diagnosis = evaluation.diagnose(1 - accuracy["train"], 1 - accuracy["dev"], **gaps)
    evaluation.plot_curves(result.history, out / "curves.png", title=f"{args.model} on {args.dataset}")
    evaluation.plot_confusion_matrix(
        reports["test"]["confusion_matrix"], info.class_names, out / "confusion_matrix.png",
        title=f"{args.model} on {args.dataset}: test set",
    )

    metrics = {
        "model": args.model,
        "dataset": args.dataset,
        "test_accuracy": accuracy["test"],
        "dev_accuracy": accuracy["dev"],
        "train_accuracy": accuracy["train"],
        "test_macro_f1": reports["test"]["macro_f1"],
        "params": model.count_params(),
        "epochs": len(result.history.get("loss", [])),
        "train_seconds": round(result.seconds, 2),
        "diagnosis": diagnosis.summary(),
        "avoidable_bias": diagnosis.avoidable_bias,
        "variance": diagnosis.variance,
    }
    if args.train_dev_from:
        metrics.update(train_dev_accuracy=accuracy["train_dev"], data_mismatch=diagnosis.data_mismatch,
                       train_dev_from=args.train_dev_from)
        print(diagnosis.table(), flush=True)
    return cli.finish_run(
        out, metrics, ["test_accuracy", "dev_accuracy", "train_accuracy", "params", "train_seconds"], recipe="classify"
    )


if __name__ == "__main__":
    sys.exit(cli.run(main))
