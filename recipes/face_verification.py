"""Face verification with a triplet-loss embedding (FaceNet) and online mining.

Trains an L2-normalized embedding with ``TripletLoss`` on P identities x K
images per batch, then reports on identities never seen in training:

- ``verification_accuracy``: LFW's 10-fold protocol on balanced same/different
  pairs (threshold chosen on 9 folds, tested on the 10th), with ``roc_auc``,
  ``eer`` and ``tar_at_far_1e-3``; on LFW's own folder with its ``pairs.txt``,
  its 6,000 pairs and folds (the people in them are held out of training);
- ``recognition_accuracy``: a ``FaceDatabase`` holding one image of three
  quarters of the unseen identities identifies probes of them and must answer
  "unknown" for the quarter never enrolled, at the distance of a 1%
  false-accept rate on the verification pairs (``--database-far``);
- ``active_triplet_fraction`` (and mean d(a,p), d(a,n)) of the last epoch;
- with ``--siamese``, the binary alternative (|f1 - f2| -> logistic unit)
  trained on the same identities: ``siamese_verification_accuracy``.

Data: ``--data glyphs`` (default, offline): each of 143 characters is an
identity, its images the fonts bundled with Matplotlib drawing it in two random
poses (32x32); 40 characters are held out. ``--data digits``: scikit-learn's
ten digits (16x16), with rotated/mirrored training digits as new identities (a
weak test). ``--data lfw``: Labeled Faces in the Wild from LFW's own folder
layout in ``--data-dir`` (``<Name>/<Name>_0001.jpg``, e.g.
``~/scikit_learn_data/lfw_home``) with ``pairs.txt`` beside it or given by
``--pairs``, else from TFDS (~170 MB; no file numbers, so random pairs of 100
held-out people).

Writes ``model.keras`` (the embedding; raw pixels of any image, dark-on-light
glyphs and digits inverted), ``database.npz``, ``run.json`` (thresholds and
distance), ``roc.png``, ``embeddings_tsne.png``, ``pairs.png`` (hardest
mistakes), ``metrics.json`` and, with ``--siamese``, ``siamese.keras``.
``python recipes/predict.py RUN_DIR face.png`` identifies faces against the
database; ``--verify A B`` compares two.

Training: 15 epochs of 50 P x K batches on glyphs (``--quick``: 5 of 20), 30
of 50 on LFW, 8 of 20 on digits (longer fits their 42 training shapes and
verifies unseen digits worse); ``--augment`` also shifts, zooms, rotates and
shears every training image (no gain measured on glyphs, already posed).

Commands::

    python recipes/face_verification.py --quick                     # < 60 s on 2 CPU cores
    python recipes/face_verification.py --mining batch_all --siamese
    python recipes/face_verification.py --data lfw --data-dir ~/scikit_learn_data/lfw_home   # pairs.txt folds
    python recipes/face_verification.py --data lfw --data-dir ~/tensorflow_datasets
"""

import os
import pathlib
import sys

import numpy as np

from dlkit import cli
from dlkit.errors import ConfigError

HEADLINE = ["verification_accuracy", "roc_auc", "eer", "recognition_accuracy", "active_triplet_fraction"]
#: The largest P x K batch: semi-hard mining builds batch x batch x batch tensors (512**3 floats = 0.5 GB).
MAX_BATCH = 512
DEFAULTS = {  # image side, identities held out, (epochs, steps) of the default run
    "glyphs": {"image_size": 32, "unseen": 40, "schedule": (15, 50)},
    "digits": {"image_size": 16, "unseen": 4, "schedule": (8, 20)},
    "lfw": {"image_size": 64, "unseen": 100, "schedule": (30, 50)},
}


def parse_args(argv=None):
    parser = cli.recipe_parser("face_verification", __doc__)
    parser.add_argument("--data", choices=tuple(DEFAULTS), default="glyphs", help="identity data (default: glyphs)")
    parser.add_argument("--mining", choices=("semi_hard", "batch_hard", "batch_all"), default="semi_hard")
    parser.add_argument("--distance", choices=("squared_l2", "l2", "cosine"), default="squared_l2")
    parser.add_argument("--margin", type=cli.nonnegative_float, default=0.5, help="triplet margin (default: 0.5)")
    parser.add_argument("--dim", type=cli.positive_int, default=128, help="embedding size (default: 128)")
    parser.add_argument("--identities-per-batch", type=cli.positive_int, default=24, help="P (default: 24)")
    parser.add_argument("--images-per-identity", type=cli.positive_int, default=8, help="K (default: 8)")
    parser.add_argument("--steps-per-epoch", type=cli.positive_int, help="P x K batches per epoch (glyphs, lfw 50; digits 20)")
    parser.add_argument("--learning-rate", type=cli.positive_float, default=1e-3)
    parser.add_argument("--unseen", type=cli.positive_int, help="identities held out (glyphs 40, digits 4, lfw 100)")
    parser.add_argument("--split-seed", type=int, default=0, help="which identities are held out (default: 0)")
    parser.add_argument("--image-size", type=cli.image_size, help="square image side (glyphs 32, digits 16, lfw 64)")
    parser.add_argument("--no-transforms", action="store_true", help="no rotated/mirrored training identities")
    parser.add_argument(
        "--augment", action="store_true",
        help="random shift/zoom/rotation/shear of every training image (no gain measured on glyphs, already posed)",
    )
    parser.add_argument(
        "--pairs", default=None,
        help="lfw: an LFW pairs file (pairs.txt: 10 folds) to evaluate on; default: pairs.txt in --data-dir if there",
    )
    parser.add_argument(
        "--database-far", type=cli.fraction, default=0.01,
        help="false-accept rate on the verification pairs at which the database's threshold is set (default: 0.01)",
    )
    parser.add_argument("--siamese", action="store_true", help="also train and report the siamese classifier")
    parser.add_argument("--siamese-form", choices=("absolute", "chi_square"), default="absolute")
    args = parser.parse_args(argv)
    if not 0 < args.database_far <= 1:
        raise ConfigError(f"--database-far must be in (0, 1]. Received: {args.database_far}")
    if args.pairs is not None and args.data != "lfw":
        raise ConfigError(f"--pairs needs --data lfw. Received: --data {args.data}")
    if args.pairs is not None and not os.path.isfile(args.pairs):
        raise ConfigError(f"--pairs file not found. Received: {args.pairs}")
    batch = args.identities_per_batch * args.images_per_identity
    if batch > MAX_BATCH:
        raise ConfigError(
            f"A P x K batch of {batch} images is more than online mining can hold (at most {MAX_BATCH}; mining "
            f"compares every pair with every negative). Lower --identities-per-batch or --images-per-identity. "
            f"Received: {args.identities_per_batch} x {args.images_per_identity}"
        )
    return args


def load_split(args):
    """(training identities, unseen identities, LFW pairs protocol or None); on LFW, its pairs.txt when found."""
    from dlkit import verification

    defaults = DEFAULTS[args.data]
    pairs = args.pairs or (verification.find_pairs_file(args.data_dir) if args.data == "lfw" else None)
    return verification.load_split(
        args.data, args.unseen or defaults["unseen"], data_dir=args.data_dir,
        image_size=args.image_size or defaults["image_size"], pairs=pairs,
        transforms=args.data == "digits" and not args.no_transforms, seed=args.split_seed,
    )


def schedule(args):
    """(epochs, steps per epoch): digits overfit their few training shapes when trained longer."""
    epochs, steps = (5, 20) if args.quick else DEFAULTS[args.data]["schedule"]
    return args.epochs or epochs, args.steps_per_epoch or steps


def embedding_builder(args, shape):
    """The embedding: small_cnn's flattened maps (two blocks up to 16 pixels, three above) -> dense -> L2 norm."""
    from dlkit import models, verification

    filters = (32, 64) if shape[0] <= 16 else (32, 64, 128)
    return lambda: verification.embedding_model(
        models.small_cnn(shape, include_top=False, pooling="flatten", filters=filters, dropout=0.3,
                         name="small_convnet"),
        args.dim,
    )


def fit(args, build, train, out, **compile_arguments):
    """``training.fit`` with the run's epochs, learning rate, strategy and precision, resumable from ``out``."""
    from dlkit import training

    return training.fit(
        build, train, epochs=schedule(args)[0], learning_rate=args.learning_rate, out=out,
        keep_backup=True,  # until metrics.json exists: a rerun after a kill skips the finished phases
        strategy=args.strategy, mixed_precision=args.mixed_precision,
        **cli.progress_options(args),
        **compile_arguments,
    )


def train_embedding(args, seen, out):
    from dlkit import verification

    train = verification.pk_batches(
        (seen.images, seen.labels), min(args.identities_per_batch, len(seen.identities)), args.images_per_identity,
        num_batches=schedule(args)[1], seed=args.seed,
    )
    if args.augment:
        # Each image of each P x K batch gets its own small shift, zoom, rotation and shear (tf.data, no NumPy).
        train = verification.augment_batches(train, shift=0.1, zoom=0.1, rotation=0.025, shear=0.1, seed=args.seed)
    return fit(
        args, embedding_builder(args, seen.images.shape[1:]), train, out / "training",
        schedule="constant" if args.data == "digits" else "cosine",
        loss=verification.TripletLoss(args.margin, args.mining, args.distance),
        metrics=verification.triplet_metrics(args.margin, args.distance),
    )


def train_siamese(args, seen, out):
    from dlkit import verification

    embedding = embedding_builder(args, seen.images.shape[1:])
    train = verification.pair_batches(
        seen.images, seen.labels, batch_size=args.batch_size or 128, num_batches=schedule(args)[1], seed=args.seed
    )
    return fit(
        args, lambda: verification.siamese_classifier(embedding(), args.siamese_form), train, out / "siamese_training",
        loss="binary_crossentropy", metrics=["accuracy"],
    )


def main(argv=None):
    args = parse_args(argv)
    out = cli.start_run(args, "face_verification")
    from dlkit import inference, verification
    from dlkit.data.adapter import with_adapter
    from dlkit.verification import plots

    seen, unseen, protocol = load_split(args)
    result = train_embedding(args, seen, out)
    # The embedding as it serves: raw 0-255 pixels of any size; light strokes on black for glyphs and digits.
    model = with_adapter(result.model, polarity=None if args.data == "lfw" else "light_on_dark")
    pixels = unseen.images * 255.0
    inference.save_model(model, out / "model.keras")
    embeddings = model.predict(pixels, verbose=cli.verbosity(args))
    verification.check_spread(embeddings, advice="Lower the learning rate. The training backup is kept. "
                              f"Received: --learning-rate {args.learning_rate}, --margin {args.margin}")

    # Verification: same or different, on pairs of identities never seen in training.
    if protocol is None:
        first, second, same = verification.make_pairs(unseen.labels, 3000 if args.quick else 6000, seed=args.split_seed)
        fold = None
    else:  # LFW's own pairs and folds
        first, second, same, fold = verification.pair_indices(unseen, protocol)
    distances = verification.paired_distances(embeddings[first], embeddings[second], args.distance)
    report = verification.evaluate_verification(distances, same, folds=10, fold_of=fold, seed=args.split_seed)
    metrics = {
        "verification_accuracy": report["accuracy"],
        "verification_accuracy_std": report["accuracy_std"],
        **{key: report[key] for key in ("roc_auc", "eer", "tar_at_far_1e-3", "threshold", "pairs")},
        "pairs_protocol": "random pairs, 10 stratified folds" if protocol is None else (
            f"{pathlib.Path(protocol.source).name}: {len(np.unique(fold))} folds"
        ),
        "data": args.data, "mining": args.mining, "distance": args.distance,
        "training_identities": len(seen.identities),
        "unseen_identities": len(unseen.identities),
        "epochs": len(result.history["loss"]),
        "train_seconds": result.seconds,
        # The last epoch's triplet diagnostics: a collapsed or untrained embedding shows in them.
        **{key: result.history[key][-1] for key in ("active_triplet_fraction", "positive_distance", "negative_distance")},
        "final_loss": result.history["loss"][-1],
    }

    # Recognition: an open-set gallery of N people lets a stranger through about N times as often as one pair does,
    # so the database gets a stricter threshold than verification's best-accuracy one: a false-accept rate per pair.
    metrics["database_threshold"] = verification.choose_threshold(distances, same, target_far=args.database_far)
    database, recognition = verification.open_set_trial(model, unseen, pixels, threshold=metrics["database_threshold"],
                                                         distance=args.distance, seed=args.split_seed + 1)
    metrics.update(recognition)
    database.save(out / "database.npz")
    inference.write_run(out, "verification", "face_verification", model="model.keras", database="database.npz",
                        distance=args.distance, verify_threshold=report["threshold"],
                        database_threshold=metrics["database_threshold"], data=args.data)

    curves = {f"triplet, {args.mining}": (distances, same)}
    if args.siamese:  # the binary alternative, trained on the same identities and judged on the same pairs
        siamese_result = train_siamese(args, seen, out)
        siamese = with_adapter(siamese_result.model, polarity=model.get_layer("adapter").polarity)
        inference.save_model(siamese, out / "siamese.keras")
        pairs = {"first": pixels[first], "second": pixels[second]}
        siamese_distances = 1.0 - siamese.predict(pairs, verbose=0, batch_size=256).reshape(-1)
        siamese_report = verification.evaluate_verification(
            siamese_distances, same, folds=10, fold_of=fold, seed=args.split_seed
        )
        metrics["siamese_verification_accuracy"] = siamese_report["accuracy"]
        metrics["siamese_roc_auc"] = siamese_report["roc_auc"]
        metrics["train_seconds"] += siamese_result.seconds
        curves[f"siamese, {args.siamese_form}"] = (siamese_distances, same)
    metrics["train_seconds"] = round(metrics["train_seconds"], 2)

    plots.plot_roc(curves, out / "roc.png")
    plots.plot_tsne(embeddings, unseen.labels, unseen.names, out / "embeddings_tsne.png", seed=args.seed,
                    max_points=400 if args.quick else 1000)
    plots.plot_pairs(unseen.images, first, second, distances, same, report["threshold"], out / "pairs.png",
                     labels=unseen.labels, names=unseen.names)
    headline = HEADLINE + (["siamese_verification_accuracy"] if args.siamese else [])
    return cli.finish_run(out, metrics, headline, recipe="face_verification")


if __name__ == "__main__":
    sys.exit(cli.run(main))
