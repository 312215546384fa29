"""Optimizers, learning-rate schedules and regularizers compared on one network and one dataset.

The course notes' practice chapter as an experiment: the same MLP (same initial
weights) on the same digits, trained

- with each optimizer: mini-batch SGD, SGD with momentum 0.9, AdaGrad, RMSProp,
  Adam, and Adam without its bias correction (what the correction buys);
- with each learning-rate schedule (Adam): constant, 1/(1 + k·epoch),
  1/sqrt(1 + k·epoch), exponential, step, cosine, and reduce-on-plateau;
- with each regularizer, on a quarter of the training set (for 3x the epochs)
  so that variance shows: none, L2, dropout, early stopping, augmentation
  (random shifts), and, for scale, no regularizer on the whole training set
  (``more_data``, the first thing ``diagnose`` advises against variance).

Each run reports its final dev accuracy, the epochs it took to reach
--target dev accuracy, its train and dev error and ``evaluation.diagnose``'s
verdict; the curves are drawn side by side.

    python recipes/optimize.py                          # all three comparisons, ~4 min on 2 CPU cores
    python recipes/optimize.py --quick                  # optimizers and regularizers, fewer epochs: under 60 s
    python recipes/optimize.py --compare schedules --epochs 30

Writes into --out: comparison.json (every run's figures), optimizers.png,
schedules.png, regularization.png (curves side by side), metrics.json, config.json;
with --tensorboard, logs/<comparison>/<run>/.
"""

import sys

from dlkit import cli

COMPARISONS = ("optimizers", "schedules", "regularization")
#: name -> (dlkit.training optimizer name or "adam_without_bias_correction", learning rate, momentum).
OPTIMIZERS = {
    "sgd": ("sgd", 0.05, 0.0),
    "momentum": ("sgd", 0.05, 0.9),
    "adagrad": ("adagrad", 0.05, None),
    "rmsprop": ("rmsprop", 1e-3, None),
    "adam": ("adam", 1e-3, None),
    "adam_without_bias_correction": ("adam_without_bias_correction", 1e-3, None),
}
SCHEDULES = ("constant", "inverse_time", "inverse_sqrt", "exponential", "step", "cosine", "plateau")
#: name -> builder arguments and fit arguments of each regularizer.
REGULARIZERS = {
    "none": ({}, {}),
    "l2": ({"l2": 1e-3}, {}),
    "dropout": ({"dropout": 0.3}, {}),
    "early_stopping": ({}, {"early_stopping": 5}),
    "augmentation": ({}, {"augment": True}),
    "more_data": ({}, {"all_data": True}),  # diagnose's first advice for variance: the whole training set
}


def parse_args(argv=None):
    parser = cli.recipe_parser("optimize", __doc__)
    parser.add_argument("--compare", choices=(*COMPARISONS, "all"), default=None,
                        help="which comparison (default: all; with --quick: optimizers and regularization)")
    parser.add_argument("--target", type=cli.fraction, default=0.95, help="dev accuracy for 'epochs to target' (0.95)")
    parser.add_argument("--hidden-units", type=cli.positive_int, default=128, help="units of each hidden layer")
    return parser.parse_args(argv)


def epochs_to(values, target):
    """The first epoch (from 1) whose value reaches ``target``, or ``None``."""
    return next((epoch for epoch, value in enumerate(values, start=1) if value >= target), None)


def main(argv=None):
    args = parse_args(argv)
    out = cli.start_run(args, "optimize")

    import keras
    import tensorflow as tf

    from dlkit import evaluation, models, optimizers, training
    from dlkit.data.builtin import digits_arrays

    compare = args.compare or ("optimizers,regularization" if args.quick else "all")
    chosen = COMPARISONS if compare == "all" else tuple(compare.split(","))
    epochs = args.epochs or (12 if args.quick else 40)
    batch_size = args.batch_size or 64
    arrays = {split: digits_arrays(split) for split in ("train", "dev")}
    arrays = {split: (images / 255.0, labels) for split, (images, labels) in arrays.items()}

    def batches(split, count=None, augment=False):
        images, labels = arrays[split]
        images, labels = images[:count], labels[:count]
        dataset = tf.data.Dataset.from_tensor_slices((images.astype("float32"), labels))
        if split == "train":
            dataset = dataset.shuffle(len(labels), seed=args.seed, reshuffle_each_iteration=True)
        dataset = dataset.batch(batch_size)
        if augment:  # shifts of up to one pixel (of 8): what a slightly off-centre digit looks like
            shift = keras.layers.RandomTranslation(0.125, 0.125, fill_mode="constant", seed=args.seed)
            dataset = dataset.map(lambda x, y: (shift(x, training=True), y))
        return dataset.prefetch(2)

    initial = {}

    def network(**builder_arguments):
        model = models.build("mlp", input_shape=(8, 8, 1), num_classes=10, hidden_units=(args.hidden_units,) * 2,
                             **builder_arguments)
        if not initial:
            initial["weights"] = model.get_weights()
        elif len(model.get_weights()) == len(initial["weights"]):
            model.set_weights(initial["weights"])  # every run starts from the same weights
        return model

    def run(label, optimizer="adam", learning_rate=1e-3, momentum=0.9, schedule="constant", train_count=None,
            builder_arguments=None, fit_arguments=None, epochs=epochs):
        fit_arguments = dict(fit_arguments or {})
        augment = fit_arguments.pop("augment", False)
        keras.utils.set_random_seed(args.seed)
        if optimizer == "adam_without_bias_correction":
            optimizer = optimizers.AdamWithoutBiasCorrection(learning_rate)
        train = batches("train", train_count, augment)
        result = training.fit(lambda: network(**(builder_arguments or {})), train, batches("dev"), epochs=epochs,
                              optimizer=optimizer, learning_rate=learning_rate, momentum=momentum, schedule=schedule,
                              restore_best=False, backup=False, verbose=0, strategy=args.strategy,
                              mixed_precision=args.mixed_precision,
                              tensorboard=str(out / "logs" / label) if args.tensorboard else False, **fit_arguments)
        history = result.history
        errors = {split: 1 - float(evaluation.classification_report(
            *evaluation.predict_classes(result.model, batches(split, train_count if split == "train" else None)))
            ["accuracy"]) for split in ("train", "dev")}
        diagnosis = evaluation.diagnose(errors["train"], errors["dev"])
        figures = {
            "final_dev_accuracy": round(1 - errors["dev"], 4),
            "train_accuracy": round(1 - errors["train"], 4),
            "best_dev_accuracy": round(max(history["val_accuracy"]), 4),
            "epochs_to_target": epochs_to(history["val_accuracy"], args.target),
            "epochs_run": len(history["loss"]),
            "final_train_loss": round(float(history["loss"][-1]), 4),
            "diagnosis": diagnosis.summary(),
            "seconds": round(result.seconds, 2),
        }
        if cli.verbosity(args):
            print(f"optimize: {label}: dev {figures['final_dev_accuracy']:.4f}, train "
                  f"{figures['train_accuracy']:.4f}, epochs to {args.target:g}: {figures['epochs_to_target']}, "
                  f"{diagnosis.problem}", flush=True)
        return figures, history

    results, pictures = {}, {}
    if "optimizers" in chosen:
        runs = {name: run(f"optimizers/{name}", name_, rate, 0.0 if momentum is None else momentum)
                for name, (name_, rate, momentum) in OPTIMIZERS.items()}
        results["optimizers"] = {name: figures for name, (figures, _) in runs.items()}
        pictures["optimizers"] = {name: history for name, (_, history) in runs.items()}
    if "schedules" in chosen:
        runs = {name: run(f"schedules/{name}", "adam", 3e-3, schedule=name) for name in SCHEDULES}
        results["schedules"] = {name: figures for name, (figures, _) in runs.items()}
        pictures["schedules"] = {name: history for name, (_, history) in runs.items()}
    if "regularization" in chosen:
        quarter = len(arrays["train"][1]) // 4
        # A quarter of the data for 3x the epochs: about as many optimizer steps as the other comparisons take.
        runs = {name: run(f"regularization/{name}", train_count=None if fitting.get("all_data") else quarter,
                          builder_arguments=builder,
                          fit_arguments={key: value for key, value in fitting.items() if key != "all_data"},
                          epochs=epochs if fitting.get("all_data") else 3 * epochs)
                for name, (builder, fitting) in REGULARIZERS.items()}
        results["regularization"] = {name: figures for name, (figures, _) in runs.items()}
        pictures["regularization"] = {name: history for name, (_, history) in runs.items()}
    titles = {"optimizers": "Optimizers (same MLP, same initial weights)",
              "schedules": "Learning-rate schedules (Adam, 3e-3)",
              "regularization": "Regularizers (a quarter of the training set)"}
    for comparison, histories in pictures.items():
        evaluation.plot_comparison(histories, out / f"{comparison}.png", title=titles[comparison],
                                   metrics=("loss", "val_loss", "accuracy", "val_accuracy"))
    cli.write_json(out / "comparison.json", results, sort_keys=False)

    metrics = {"compared": ",".join(chosen), "epochs": epochs, "target": args.target,
               "train_seconds": round(sum(figures["seconds"] for group in results.values()
                                          for figures in group.values()), 2)}
    for comparison, group in results.items():
        best = max(group, key=lambda name: group[name]["final_dev_accuracy"])
        metrics[f"best_{comparison}"] = best
        metrics[f"best_{comparison}_dev_accuracy"] = group[best]["final_dev_accuracy"]
    if "regularization" in results:
        none = results["regularization"]["none"]
        metrics["unregularized_gap"] = round(none["train_accuracy"] - none["final_dev_accuracy"], 4)
    headline = [key for key in metrics if key.startswith("best_") and key.endswith("dev_accuracy")]
    return cli.finish_run(out, metrics, [*headline, "train_seconds"], recipe="optimize")


if __name__ == "__main__":
    sys.exit(cli.run(main))
