"""``TripletLoss`` and the triplet diagnostics as Keras losses and metrics.

TensorFlow Addons' ``TripletSemiHardLoss`` / ``TripletHardLoss`` were the
reference implementation and do not support Keras 3; these replace them::

    model.compile(
        optimizer="adam",
        loss=TripletLoss(margin=0.2, mining="semi_hard"),
        metrics=triplet_metrics(margin=0.2),
    )

``y_true`` is the integer identity of each example (shape ``(batch,)`` or
``(batch, 1)``), ``y_pred`` its embedding (shape ``(batch, dim)``). Feed
batches from :func:`dlkit.verification.pk_batches` so every anchor has positives.
"""

import keras
from keras import ops

from dlkit.errors import ConfigError
from dlkit.verification import mining
from dlkit.verification.distances import check_distance, pairwise_distances


def _check(margin, mining_mode, distance):
    if mining_mode not in mining.MINING:
        raise ConfigError(f"mining must be one of {', '.join(mining.MINING)}. Received: mining={mining_mode!r}")
    check_distance(distance)
    if not margin >= 0:
        raise ConfigError(f"margin must be >= 0. Received: margin={margin}")


@keras.saving.register_keras_serializable(package="dlkit")
class TripletLoss(keras.losses.Loss):
    """Triplet loss with online mining (FaceNet).

    ``max(d(a, p) - d(a, n) + margin, 0)`` over triplets mined inside the batch.
    A batch with no valid triplet (no positive pair, no negative, or no
    embedding at all) gives a loss of 0.0 with a finite gradient, in every
    mining mode; TF Addons divides by zero there.

    Reference:
        Schroff, Kalenichenko, Philbin, "FaceNet: A Unified Embedding for Face
        Recognition and Clustering", CVPR 2015; Hermans, Beyer, Leibe, "In
        Defense of the Triplet Loss for Person Re-Identification", 2017.

    Args:
        margin: the margin alpha (FaceNet: 0.2 with squared L2 on unit vectors;
            TF Addons' default was 1.0).
        mining: ``"semi_hard"`` (TF Addons' semantics: for each positive pair the
            smallest ``d(a, n) > d(a, p)``, else the largest ``d(a, n)``),
            ``"batch_hard"`` (per anchor ``max d(a, p) - min d(a, n) + margin``)
            or ``"batch_all"`` (all valid triplets, averaged over active ones).
        distance: ``"squared_l2"``, ``"l2"`` (safe square root) or ``"cosine"``.
        name: loss name.
        reduction: Keras reduction; the loss is already a scalar per batch.
    """

    def __init__(self, margin=0.2, mining="semi_hard", distance="squared_l2", name="triplet_loss",
                 reduction="sum_over_batch_size", dtype=None):
        _check(margin, mining, distance)
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.margin = float(margin)
        self.mining = mining
        self.distance = distance

    def call(self, y_true, y_pred):
        distances = pairwise_distances(ops.cast(y_pred, "float32"), self.distance)
        return mining.LOSSES[self.mining](distances, ops.reshape(y_true, (-1,)), self.margin)

    def get_config(self):
        config = super().get_config()
        config.update({"margin": self.margin, "mining": self.mining, "distance": self.distance})
        return config


class _TripletStatistic(keras.metrics.Mean):
    """Batch mean of one of :func:`mining.triplet_statistics`' values."""

    statistic = None

    def __init__(self, margin=0.2, distance="squared_l2", name=None, dtype=None):
        _check(margin, "batch_all", distance)
        super().__init__(name=name or self.statistic, dtype=dtype)
        self.margin = float(margin)
        self.distance = distance

    def update_state(self, y_true, y_pred, sample_weight=None):
        distances = pairwise_distances(ops.cast(y_pred, "float32"), self.distance)
        labels = ops.reshape(y_true, (-1,))
        value = mining.triplet_statistics(distances, labels, self.margin)[self.statistic]
        return super().update_state(value)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "margin": self.margin, "distance": self.distance}


@keras.saving.register_keras_serializable(package="dlkit")
class ActiveTripletFraction(_TripletStatistic):
    """Fraction of valid triplets with a positive hinge loss (1.0 at collapse, -> 0 when learnt)."""

    statistic = "active_triplet_fraction"


@keras.saving.register_keras_serializable(package="dlkit")
class MeanPositiveDistance(_TripletStatistic):
    """Mean ``d(a, p)`` over the positive pairs of a batch."""

    statistic = "positive_distance"


@keras.saving.register_keras_serializable(package="dlkit")
class MeanNegativeDistance(_TripletStatistic):
    """Mean ``d(a, n)`` over the negative pairs of a batch (near 0 = collapsed embedding)."""

    statistic = "negative_distance"


def triplet_metrics(margin=0.2, distance="squared_l2"):
    """The three diagnostics, ready for ``compile(metrics=...)``."""
    return [
        ActiveTripletFraction(margin, distance),
        MeanPositiveDistance(margin, distance),
        MeanNegativeDistance(margin, distance),
    ]
