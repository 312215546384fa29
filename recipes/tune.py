"""Hyperparameter search: random trials on the right scale, coarse to fine, against the default settings.

Tunes a zoo model (an MLP by default) on a ``data.load`` set (scikit-learn's
offline digits by default): each trial trains with ``dlkit.training.fit`` for
--epochs and is scored by its dev accuracy; the test set is scored too but
never used to choose. The first trial runs the default settings, so the
search is compared with them on the same footing. Searched:

- learning rate: log-uniform in [1e-4, 1e-1] (each decade the same share);
- Adam's beta_1: 1 - 10^r in [0.8, 0.999] (as many trials in [0.99, 0.999] as in [0.9, 0.99]);
- batch size: one of 32, 64, 128 (unless --batch-size fixes it);
- and the builder's own knobs where it has them: L2 (log-uniform [1e-6, 1e-2]),
  dropout (uniform [0, 0.5]), hidden units (integer, log scale [16, 512]).

--rounds > 1 narrows the ranges around the best quarter of the trials so far
(coarse to fine). A killed search rerun with the same --out keeps its finished
trials (Optuna's study in OUT/tuning.db) and runs the rest.

    python recipes/tune.py                    # MLP on digits, 2 rounds x 12 trials, ~3 min on 2 CPU cores
    python recipes/tune.py --quick            # 2 rounds x 5 trials, under 60 s
    python recipes/tune.py --model small_cnn --image-size 16 --trials 10 --rounds 2 --epochs 8

Writes into --out: trials.csv, trials.json, trials.png (score against each
hyperparameter on its own scale), best.json (the best settings and figures),
model.keras (the best trial's model), metrics.json, config.json; with
--tensorboard, logs/<trial's settings>/ per trial.
"""

import inspect
import sys

from dlkit import cli

DEFAULTS = {"learning_rate": 2e-3, "beta_1": 0.9, "batch_size": 32, "l2": 1e-6, "dropout": 0.0, "units": 128}


def parse_args(argv=None):
    parser = cli.recipe_parser("tune", __doc__)
    parser.add_argument("--model", default="mlp", help="a registered model name (default: mlp)")
    parser.add_argument("--dataset", default="digits", help="digits, a TFDS name, or an image folder")
    parser.add_argument("--image-size", type=cli.image_size, default=None, help="resize images to N x N")
    parser.add_argument("--trials", type=cli.positive_int, default=None, help="trials per round (default 12; 5 quick)")
    parser.add_argument("--rounds", type=cli.positive_int, default=2, help="rounds, each narrower (default 2)")
    return parser.parse_args(argv)


def search_space(builder):
    """The searched hyperparameters: the optimizer's, the batch size, and the builder's knobs it accepts."""
    from dlkit import tuning

    space = {"learning_rate": tuning.log_uniform(1e-4, 1e-1), "beta_1": tuning.one_minus_log(0.8, 0.999),
             "batch_size": tuning.choice(32, 64, 128)}
    accepted = inspect.signature(builder).parameters
    if "l2" in accepted:
        space["l2"] = tuning.log_uniform(1e-6, 1e-2)
    if "dropout" in accepted:
        space["dropout"] = tuning.uniform(0.0, 0.5)
    if "hidden_units" in accepted:
        space["units"] = tuning.integer(16, 512, log=True)
    return space


def builder_arguments(params):
    arguments = {key: params[key] for key in ("l2", "dropout") if key in params}
    if "units" in params:
        arguments["hidden_units"] = (params["units"],)
    return arguments


def main(argv=None):
    args = parse_args(argv)
    out = cli.start_run(args, "tune")

    import json

    import keras

    from dlkit import data, evaluation, files, inference, models, training, tuning

    builder = models.get(args.model)  # fail fast on a bad name, before loading data
    trials = args.trials or (5 if args.quick else 12)
    epochs = args.epochs or (6 if args.quick else 15)
    if not files.resume_states(out):  # a fresh run (or a finished folder run again): start the study afresh
        for name in ("tuning.db", "best.json"):
            (out / name).unlink(missing_ok=True)
    files.write_state(out / "backup", {"recipe": "tune"})  # until metrics.json: a rerun resumes the study

    def load(split, batch_size):
        dataset, info = data.load(args.dataset, split, image_size=args.image_size, batch_size=batch_size,
                                  data_dir=args.data_dir, seed=args.seed, shuffle=split == "train")
        return dataset, info

    _, info = load("dev", 32)
    space = search_space(builder)
    if args.batch_size:  # a batch size given on the command line is kept, not searched
        del space["batch_size"]
    best_file = out / "best.json"
    best = json.loads(best_file.read_text()) if best_file.exists() else None

    def objective(params):
        nonlocal best
        keras.utils.set_random_seed(args.seed)
        train, _ = load("train", params.get("batch_size", args.batch_size))
        dev, _ = load("dev", 256)
        test, _ = load("test", 256)
        optimizer = keras.optimizers.Adam(params["learning_rate"], beta_1=params["beta_1"])
        label = "_".join(f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"
                         for name, value in params.items())
        tensorboard = str(out / "logs" / label) if args.tensorboard else False  # one run per trial's settings
        result = training.fit(
            lambda: models.build(args.model, input_shape=info.image_shape, num_classes=info.num_classes,
                                 **builder_arguments(params)),
            train, dev, epochs=epochs, optimizer=optimizer, restore_best=False, backup=False, verbose=0,
            tensorboard=tensorboard, strategy=args.strategy, mixed_precision=args.mixed_precision)
        accuracy = {split: float(evaluation.classification_report(*evaluation.predict_classes(result.model, dataset))
                                 ["accuracy"]) for split, dataset in (("dev", dev), ("test", test))}
        figures = {"score": accuracy["dev"], "dev_accuracy": accuracy["dev"], "test_accuracy": accuracy["test"],
                   "train_loss": float(result.history["loss"][-1])}
        if best is None or accuracy["dev"] > best["dev_accuracy"]:
            inference.save_model(result.model, out / "model.keras")
            best = {"params": params, **{key: value for key, value in figures.items() if key != "score"}}
            cli.write_json(best_file, best)
        return figures

    defaults = {name: DEFAULTS[name] for name in space}
    search = tuning.random_search(objective, space, trials=trials, rounds=args.rounds, out=out, seed=args.seed,
                                  initial=[defaults], verbose=cli.verbosity(args))
    tuning.plot_trials(search, out / "trials.png",
                       title=f"{args.model} on {args.dataset}: dev accuracy of {len(search.complete)} trials")
    default_trial = next(trial for trial in search.complete if trial.round == 0 and trial.number == 0)
    top = search.best
    metrics = {
        "model": args.model,
        "dataset": args.dataset,
        "trials": len(search.complete),
        "failed_trials": len(search.trials) - len(search.complete),
        "rounds": args.rounds,
        "epochs": epochs,
        "best_dev_accuracy": top.metrics["dev_accuracy"],
        "best_test_accuracy": top.metrics["test_accuracy"],
        "default_dev_accuracy": default_trial.metrics["dev_accuracy"],
        "default_test_accuracy": default_trial.metrics["test_accuracy"],
        "best_params": json.dumps(top.params),
        "params": keras.models.load_model(out / "model.keras", compile=False).count_params(),
        "train_seconds": round(sum(trial.seconds for trial in search.trials), 2),
    }
    return cli.finish_run(out, metrics, ["best_dev_accuracy", "best_test_accuracy", "default_dev_accuracy",
                                         "default_test_accuracy", "trials"], recipe="tune")


if __name__ == "__main__":
    sys.exit(cli.run(main))
