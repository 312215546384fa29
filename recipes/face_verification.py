"""Face verification with a triplet-loss embedding (FaceNet) and online mining.

Trains an L2-normalized embedding with ``TripletLoss`` on P identities x K
images per batch, then reports on identities never seen in training:

- ``verification_accuracy``: LFW's 10-fold protocol on balanced same/different
  pairs (threshold chosen on 9 folds, tested on the 10th), with ``roc_auc``,
  ``eer`` and ``tar_at_far_1e-3``; on LFW's own folder with its ``pairs.txt``,
  the standard 6,000 pairs and their folds (the people in them are held out of
  training);
- ``recognition_accuracy``: a ``FaceDatabase`` holding one image of three
  quarters of the unseen identities identifies probes of them and must answer
  "unknown" for the quarter never enrolled; its threshold is the distance at a
  1% false-accept rate on the verification pairs (``--database-far``);
- ``active_triplet_fraction`` (and mean d(a,p), d(a,n)) of the last epoch;
- with ``--siamese``, the binary alternative (|f1 - f2| -> logistic unit,
  binary cross-entropy) trained on the same identities:
  ``siamese_verification_accuracy``.

Data: ``--data glyphs`` (default, offline): each of 143 characters is an
identity and its images are the fonts bundled with Matplotlib drawing it, each
in two random poses (32x32); 40 characters are held out and never seen in
training. ``--data digits``: scikit-learn's digits, each digit an identity,
upsampled to 16x16, with rotated/mirrored training digits as new identities
(only ten identities: a weak test of what the embedding learns). ``--data
lfw``: Labeled Faces in the Wild, from LFW's own folder layout in
``--data-dir`` (``<Name>/<Name>_0001.jpg``, e.g. scikit-learn's
``~/scikit_learn_data/lfw_home``) with ``pairs.txt`` beside it or given by
``--pairs``, else from TFDS (downloads ~170 MB when online; TFDS drops the
file numbers, so random pairs of 100 held-out people are used).

Writes ``model.keras`` (the embedding; it takes raw pixels of any image, and
inverts dark-on-light glyphs and digits), ``database.npz`` (the enrolled
identities), ``run.json`` (thresholds and distance), ``roc.png``,
``embeddings_tsne.png``, ``pairs.png`` (hardest mistakes) and ``metrics.json``;
``siamese.keras`` with ``--siamese``. ``python recipes/predict.py RUN_DIR
face.png`` identifies faces against the database; ``--verify A B`` compares two.

Training: 15 epochs of 50 P x K batches on glyphs (``--quick``: 5 of 20), 30
of 50 on LFW; ``--augment`` also shifts, zooms, rotates and shears every
training image (on glyphs, which come in random poses already, it measured no
gain). On digits the run stays short (8 epochs of 20 batches): with only 42
training shapes, longer training fits them and verifies unseen digits worse.

Commands::

    python recipes/face_verification.py --quick                     # < 60 s on 2 CPU cores
    python recipes/face_verification.py --mining batch_all --siamese
    python recipes/face_verification.py --data lfw --data-dir ~/scikit_learn_data/lfw_home   # pairs.txt folds
    python recipes/face_verification.py --data lfw --data-dir ~/tensorflow_datasets
"""

import pathlib
import sys

import numpy as np

from dlkit import cli
from dlkit.errors import ConfigError

HEADLINE = ["verification_accuracy", "roc_auc", "eer", "recognition_accuracy", "active_triplet_fraction"]


def parse_args(argv=None):
    parser = cli.recipe_parser("face_verification", __doc__)
    parser.add_argument(
        "--data", choices=("glyphs", "digits", "lfw"), default="glyphs", help="identity data (default: glyphs)"
    )
    parser.add_argument("--mining", choices=("semi_hard", "batch_hard", "batch_all"), default="semi_hard")
    parser.add_argument("--distance", choices=("squared_l2", "l2", "cosine"), default="squared_l2")
    parser.add_argument("--margin", type=cli.nonnegative_float, default=0.5, help="triplet margin (default: 0.5)")
    parser.add_argument("--dim", type=cli.positive_int, default=128, help="embedding size (default: 128)")
    parser.add_argument("--identities-per-batch", type=cli.positive_int, default=24, help="P (default: 24)")
    parser.add_argument("--images-per-identity", type=cli.positive_int, default=8, help="K (default: 8)")
    parser.add_argument(
        "--steps-per-epoch", type=cli.positive_int, default=None,
        help="P x K batches per epoch (glyphs, lfw 50; digits 20)",
    )
    parser.add_argument("--learning-rate", type=cli.positive_float, default=1e-3)
    parser.add_argument("--unseen", type=cli.positive_int, default=None,
                        help="identities held out (glyphs 40, digits 4, lfw 100)")
    parser.add_argument("--split-seed", type=int, default=0, help="which identities are held out (default: 0)")
    parser.add_argument("--image-size", type=cli.image_size, default=None,
                        help="square image side (glyphs 32, digits 16, lfw 64)")
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
    batch = args.identities_per_batch * args.images_per_identity
    if batch > MAX_BATCH:
        # Online mining compares every anchor-positive pair with every negative: memory grows as batch**3.
        raise ConfigError(
            f"A P x K batch of {batch} images is more than online mining can hold (at most {MAX_BATCH}; mining "
            f"compares every pair with every negative). Lower --identities-per-batch or --images-per-identity. "
            f"Received: {args.identities_per_batch} x {args.images_per_identity}"
        )
    return args


#: The largest P x K batch: semi-hard mining builds batch x batch x batch tensors (512**3 floats = 0.5 GB).
MAX_BATCH = 512


DEFAULTS = {  # image side, identities held out, (epochs, steps) of the default run
    "glyphs": {"image_size": 32, "unseen": 40, "schedule": (15, 50)},
    "digits": {"image_size": 16, "unseen": 4, "schedule": (8, 20)},
    "lfw": {"image_size": 64, "unseen": 100, "schedule": (30, 50)},
}


def pairs_file(args):
    """The LFW pairs file to evaluate on, or None (random pairs of unseen identities)."""
    import os

    if args.pairs is not None:
        if args.data != "lfw":
            raise ConfigError(f"--pairs needs --data lfw. Received: --data {args.data}")
        if not os.path.isfile(args.pairs):
            raise ConfigError(f"--pairs file not found. Received: {args.pairs}")
        return args.pairs
    if args.data == "lfw" and args.data_dir:
        from dlkit.verification import lfw

        folder = lfw.find_image_folder(args.data_dir)
        for place in (args.data_dir, folder):
            if place and os.path.isfile(os.path.join(place, "pairs.txt")):
                return os.path.join(place, "pairs.txt")
    return None


def load_split(args):
    """Returns (training identities, unseen identities, LFW pairs protocol or None)."""
    from dlkit import verification
    from dlkit.verification import lfw

    defaults = DEFAULTS[args.data]
    path = pairs_file(args)
    if path is not None:
        protocol = lfw.read_pairs(path)
        identities = verification.load_identities(
            "lfw", data_dir=args.data_dir, image_size=args.image_size or defaults["image_size"], min_images=1
        )
        if identities.numbers is None:
            raise ConfigError(
                f"--pairs needs LFW's own folder layout (<Name>/<Name>_0001.jpg) in --data-dir, not TFDS's copy, "
                f"which drops the image numbers. Received: --data-dir {args.data_dir}"
            )
        seen, unseen = lfw.protocol_split(identities, protocol, min_images=4)
        return seen, unseen, protocol
    identities = verification.load_identities(
        args.data, data_dir=args.data_dir, image_size=args.image_size or defaults["image_size"],
        min_images=4 if args.data == "lfw" else 2,
    )
    seen, unseen = verification.split_identities(identities, args.unseen or defaults["unseen"], seed=args.split_seed)
    if not args.no_transforms and args.data == "digits":
        seen = verification.transformed_identities(seen)
    return seen, unseen, None


def backbone_builder(args, shape):
    from dlkit import verification

    filters = (32, 64) if shape[0] <= 16 else (32, 64, 128)
    return lambda: verification.embedding_model(verification.small_convnet(shape, filters), args.dim)


def schedule(args):
    """(epochs, steps per epoch): digits overfit their few training shapes when trained longer."""
    epochs, steps = (5, 20) if args.quick else DEFAULTS[args.data]["schedule"]
    return args.epochs or epochs, args.steps_per_epoch or steps


def train_embedding(args, seen, out):
    from dlkit import training, verification

    train = verification.pk_batches(
        (seen.images, seen.labels),
        min(args.identities_per_batch, len(seen.identities)),
        args.images_per_identity,
        num_batches=schedule(args)[1],
        seed=args.seed,
    )
    if args.augment:
        # Each image of each P x K batch gets its own small shift, zoom, rotation and shear (tf.data, no NumPy).
        train = verification.augment_batches(train, shift=0.1, zoom=0.1, rotation=0.025, shear=0.1, seed=args.seed)
    return training.fit(
        backbone_builder(args, seen.images.shape[1:]),
        train,
        epochs=schedule(args)[0],
        learning_rate=args.learning_rate,
        schedule="constant" if args.data == "digits" else "cosine",
        loss=verification.TripletLoss(args.margin, args.mining, args.distance),
        metrics=verification.triplet_metrics(args.margin, args.distance),
        out=out / "training",
        keep_backup=True,  # until metrics.json exists: a rerun after a kill skips the finished phases
        strategy=args.strategy,
        mixed_precision=args.mixed_precision,
        verbose=0 if args.quick else 2,
    )


def train_siamese(args, seen, out):
    from dlkit import training, verification

    embedding = backbone_builder(args, seen.images.shape[1:])
    train = verification.pair_batches(
        seen.images, seen.labels, batch_size=args.batch_size or 128,
        num_batches=schedule(args)[1], seed=args.seed,
    )
    result = training.fit(
        lambda: verification.siamese_classifier(embedding(), args.siamese_form),
        train,
        epochs=schedule(args)[0],
        learning_rate=args.learning_rate,
        loss="binary_crossentropy",
        metrics=["accuracy"],
        out=out / "siamese_training",
        keep_backup=True,
        strategy=args.strategy,
        mixed_precision=args.mixed_precision,
        verbose=0 if args.quick else 2,
    )
    return result.model


def check_spread(embeddings, args):
    """Refuses an embedding that collapsed (every image at one point) or is not finite: training failed.

    A collapsed embedding scores chance at verification and used to crash the t-SNE picture; the triplet loss
    stays finite (at the margin), so only the embeddings show it.
    """
    from dlkit.errors import TrainingError

    spread = float(np.mean(np.std(embeddings, axis=0))) if np.all(np.isfinite(embeddings)) else float("nan")
    if not spread > 1e-4:
        raise TrainingError(
            f"The embedding collapsed: every image maps to (nearly) the same point (mean spread {spread:.2g}), so "
            f"it cannot tell identities apart. Lower the learning rate. The training backup is kept. "
            f"Received: --learning-rate {args.learning_rate}, --margin {args.margin}"
        )


def recognition(args, model, unseen, pixels, threshold):
    """Enrolls one image of most unseen identities; the rest of them must come out "unknown".

    ``pixels`` are ``unseen.images`` in [0, 255], what the saved ``model`` takes.
    """
    from dlkit.verification import UNKNOWN, FaceDatabase

    rng = np.random.default_rng(args.split_seed + 1)
    identities = unseen.identities
    never_enrolled = rng.choice(identities, size=max(1, len(identities) // 4), replace=False)
    database = FaceDatabase(model, threshold=threshold, distance=args.distance)
    gallery = []
    for identity in identities:
        if identity in never_enrolled:
            continue
        chosen = int(rng.choice(np.flatnonzero(unseen.labels == identity)))
        gallery.append(chosen)
        database.enroll(unseen.names[identity], pixels[chosen : chosen + 1])
    probes = np.setdiff1d(np.arange(len(unseen)), gallery)
    answers = np.asarray(database.identify(pixels[probes]))
    truth = np.asarray(
        [UNKNOWN if label in never_enrolled else unseen.names[label] for label in unseen.labels[probes]]
    )
    known = truth != UNKNOWN
    metrics = {
        "recognition_accuracy": float(np.mean(answers == truth)),
        "known_identification_rate": float(np.mean(answers[known] == truth[known])),
        "unknown_rejection_rate": float(np.mean(answers[~known] == UNKNOWN)),
        "enrolled_identities": len(database),
        "never_enrolled_identities": len(never_enrolled),
    }
    return database, metrics


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

    embeddings = model.predict(pixels, verbose=0)
    check_spread(embeddings, args)
    if protocol is None:
        first, second, same = verification.make_pairs(unseen.labels, 3000 if args.quick else 6000, seed=args.split_seed)
        fold = None
    else:  # LFW's own pairs and folds
        first, second, same, fold = verification.pair_indices(unseen, protocol)
    distances = verification.pair_distances(embeddings, first, second, args.distance)
    report = verification.evaluate_verification(distances, same, folds=10, fold_of=fold, seed=args.split_seed)
    metrics = {
        "verification_accuracy": report["accuracy"],
        "verification_accuracy_std": report["accuracy_std"],
        "roc_auc": report["roc_auc"],
        "eer": report["eer"],
        "tar_at_far_1e-3": report["tar_at_far_1e-3"],
        "threshold": report["threshold"],
        "pairs": report["pairs"],
        "pairs_protocol": "random pairs, 10 stratified folds" if protocol is None else (
            f"{pathlib.Path(protocol.source).name}: {len(np.unique(fold))} folds"
        ),
        "data": args.data,
        "mining": args.mining,
        "distance": args.distance,
        "training_identities": int(len(seen.identities)),
        "unseen_identities": int(len(unseen.identities)),
        "epochs": len(result.history["loss"]),
        "seconds": round(result.seconds, 2),
        "active_triplet_fraction": result.history["active_triplet_fraction"][-1],
        "positive_distance": result.history["positive_distance"][-1],
        "negative_distance": result.history["negative_distance"][-1],
        "final_loss": result.history["loss"][-1],
    }
    # An open-set gallery of N people lets a stranger through about N times as often as one pair does, so the
    # database gets a stricter threshold than verification's best-accuracy one: a fixed false-accept rate per pair.
    database_threshold = verification.choose_threshold(distances, same, target_far=args.database_far)
    metrics["database_threshold"] = database_threshold
    database, recognition_metrics = recognition(args, model, unseen, pixels, database_threshold)
    metrics.update(recognition_metrics)
    database.save(out / "database.npz")
    inference.write_run(out, "verification", "face_verification", model="model.keras", database="database.npz",
                        distance=args.distance, verify_threshold=report["threshold"],
                        database_threshold=database_threshold, data=args.data)

    curves = {f"triplet, {args.mining}": (distances, same)}
    if args.siamese:
        siamese = with_adapter(train_siamese(args, seen, out), polarity=model.get_layer("adapter").polarity)
        inference.save_model(siamese, out / "siamese.keras")
        probability = siamese.predict(
            {"first": pixels[first], "second": pixels[second]}, verbose=0, batch_size=256
        ).reshape(-1)
        siamese_report = verification.evaluate_verification(
            1.0 - probability, same, folds=10, fold_of=fold, seed=args.split_seed
        )
        metrics["siamese_verification_accuracy"] = siamese_report["accuracy"]
        metrics["siamese_roc_auc"] = siamese_report["roc_auc"]
        curves[f"siamese, {args.siamese_form}"] = (1.0 - probability, same)

    plots.roc_plot(curves, out / "roc.png")
    plots.tsne_plot(
        embeddings, unseen.labels, unseen.names, out / "embeddings_tsne.png", seed=args.seed,
        max_points=400 if args.quick else 1000,
    )
    plots.pairs_plot(unseen.images, first, second, distances, same, report["threshold"], out / "pairs.png")
    headline = HEADLINE + (["siamese_verification_accuracy"] if args.siamese else [])
    return cli.finish_run(out, metrics, headline, recipe="face_verification")



if __name__ == "__main__":
    sys.exit(cli.run(main))
