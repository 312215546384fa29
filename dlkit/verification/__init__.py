"""Face verification with triplet embeddings (FaceNet) in Keras 3.

``embedding_model`` -> train with ``TripletLoss`` on ``pk_batches`` ->
``evaluate_verification`` on pairs of unseen identities -> a ``FaceDatabase``
that identifies people or answers ``"unknown"``; ``siamese_classifier`` is the
binary alternative.
"""

from dlkit.verification.data import (  # noqa: F401
    IdentitySet,
    load_identities,
    split_identities,
    transformed_identities,
)
from dlkit.verification.database import UNKNOWN, FaceDatabase  # noqa: F401
from dlkit.verification.distances import DISTANCES, paired_distances, pairwise_distances  # noqa: F401
from dlkit.verification.embedding import L2Normalize, embedding_model, small_convnet  # noqa: F401
from dlkit.verification.lfw import PairsProtocol, pair_indices, protocol_split, read_pairs  # noqa: F401
from dlkit.verification.losses import (  # noqa: F401
    ActiveTripletFraction,
    MeanNegativeDistance,
    MeanPositiveDistance,
    TripletLoss,
    triplet_metrics,
)
from dlkit.verification.mining import MINING, triplet_statistics  # noqa: F401
from dlkit.verification.sampling import augment_batches, pk_batches, random_affine  # noqa: F401
from dlkit.verification.siamese import PairDifference, pair_batches, siamese_classifier  # noqa: F401
from dlkit.verification.verification import (  # noqa: F401
    choose_threshold,
    equal_error_rate,
    evaluate_verification,
    make_pairs,
    pair_distances,
    tar_at_far,
)
