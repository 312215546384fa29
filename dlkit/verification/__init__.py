"""Face verification with triplet embeddings (FaceNet) in Keras 3.

``embedding_model`` -> train with ``TripletLoss`` on ``pk_batches`` ->
``evaluate_verification`` on pairs of unseen identities -> a ``FaceDatabase``
that identifies people or answers ``"unknown"``; ``siamese_classifier`` is the
binary alternative.

Distances: ``pairwise_distances(embeddings)`` between all rows (``keras.ops``,
for losses and mining), ``paired_distances(first, second)`` between row ``i``
of each (NumPy, for evaluation: ``paired_distances(embeddings[first],
embeddings[second])`` for index pairs). Pictures are in
:mod:`dlkit.verification.plots` (``plot_roc``, ``plot_tsne``, ``plot_pairs``;
Matplotlib is imported only there).
"""

from dlkit import lazy_names
from dlkit.verification.data import (
    IdentitySet,
    load_identities,
    load_split,
    split_identities,
    transformed_identities,
)
from dlkit.verification.database import UNKNOWN, FaceDatabase, open_set_trial
from dlkit.verification.distances import DISTANCES, paired_distances, pairwise_distances
from dlkit.verification.embedding import L2Normalize, check_spread, embedding_model
from dlkit.verification.lfw import PairsProtocol, find_pairs_file, pair_indices, protocol_split, read_pairs
from dlkit.verification.losses import (
    ActiveTripletFraction,
    MeanNegativeDistance,
    MeanPositiveDistance,
    TripletLoss,
    triplet_metrics,
)
from dlkit.verification.mining import MINING, triplet_statistics
from dlkit.verification.verification import (
    choose_threshold,
    equal_error_rate,
    evaluate_verification,
    make_pairs,
    tar_at_far,
)

# The P x K sampler and the siamese pairs are tf.data pipelines: imported on first use, so the losses, mining and
# embedding model above import without TensorFlow (docs/backends.md).
__getattr__, __dir__ = lazy_names(__name__, {
    "augment_batches": "sampling", "pk_batches": "sampling", "random_affine": "sampling",
    "PairDifference": "siamese", "pair_batches": "siamese", "siamese_classifier": "siamese",
})

__all__ = [
    "DISTANCES",
    "MINING",
    "UNKNOWN",
    "ActiveTripletFraction",
    "FaceDatabase",
    "IdentitySet",
    "L2Normalize",
    "MeanNegativeDistance",
    "MeanPositiveDistance",
    "PairDifference",
    "PairsProtocol",
    "TripletLoss",
    "augment_batches",
    "check_spread",
    "choose_threshold",
    "embedding_model",
    "equal_error_rate",
    "evaluate_verification",
    "find_pairs_file",
    "load_identities",
    "load_split",
    "make_pairs",
    "open_set_trial",
    "pair_batches",
    "pair_indices",
    "paired_distances",
    "pairwise_distances",
    "pk_batches",
    "protocol_split",
    "random_affine",
    "read_pairs",
    "siamese_classifier",
    "split_identities",
    "tar_at_far",
    "transformed_identities",
    "triplet_metrics",
    "triplet_statistics",
]
