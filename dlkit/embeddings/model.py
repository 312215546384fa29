"""The word2vec model and its negative-sampling loss (Mikolov et al. 2013).

Reference: T. Mikolov, I. Sutskever, K. Chen, G. Corrado, J. Dean,
"Distributed Representations of Words and Phrases and their Compositionality",
NIPS 2013.
"""

import keras
from keras import ops

from dlkit.errors import ConfigError


@keras.saving.register_keras_serializable(package="dlkit")
class Word2Vec(keras.Model):
    """Two embedding tables and a dot product: the score of (input, candidate) word pairs.

    Skip-gram: the input is a center word id [B]; CBOW: the input is its
    context window [B, 2*window], padded with -1, averaged (each context word
    still receives the full gradient, as in word2vec.c and gensim). Candidates [B, C]
    are the word to predict followed by negatives; the output is the logits
    [B, C] (a dot product each). Word vectors are the rows of the ``target``
    table (gensim's ``wv``); the ``context`` table is gensim's ``syn1neg``.

    The tables are plain ``Embedding`` layers, so the gradient of a batch is an
    ``IndexedSlices`` over the rows it touches: with SGD the update costs
    O(batch), not O(vocabulary).

    Args:
        vocabulary_size: number of words.
        dim: vector size.
        architecture: ``"skipgram"`` or ``"cbow"``.
        seed: seed of the target table's initializer (None: Keras's global seed).
        name: model name.
    """

    def __init__(self, vocabulary_size, dim=100, architecture="skipgram", seed=None, name="word2vec", **kwargs):
        super().__init__(name=name, **kwargs)
        if vocabulary_size < 1 or dim < 1:
            raise ConfigError(
                f"vocabulary_size and dim must be >= 1. Received: vocabulary_size={vocabulary_size}, dim={dim}"
            )
        if architecture not in ("skipgram", "cbow"):
            raise ConfigError(f"architecture must be 'skipgram' or 'cbow'. Received: architecture={architecture!r}")
        self.vocabulary_size = int(vocabulary_size)
        self.dim = int(dim)
        self.architecture = architecture
        self.seed = seed
        # word2vec's initialization: input vectors uniform in +-0.5/dim, output vectors zero.
        self.target = keras.layers.Embedding(
            self.vocabulary_size, self.dim,
            embeddings_initializer=keras.initializers.RandomUniform(-0.5 / self.dim, 0.5 / self.dim, seed=seed),
            name="target",
        )
        self.context = keras.layers.Embedding(
            self.vocabulary_size, self.dim, embeddings_initializer="zeros", name="context"
        )

    def build(self, input_shape=None):
        self.target.build((None,))
        self.context.build((None,))
        self.built = True

    def call(self, inputs):
        words, candidates = inputs
        if self.architecture == "skipgram":
            vectors = self.target(words)
        else:
            valid = ops.cast(ops.greater_equal(words, 0), self.target.embeddings.dtype)
            summed = ops.sum(self.target(ops.maximum(words, 0)) * valid[..., None], axis=1)
            mean = summed / ops.maximum(ops.sum(valid, axis=1, keepdims=True), 1.0)
            # Forward: the mean. Backward: every context word gets the full gradient, not 1/count of it,
            # as in word2vec.c and gensim (cbow_mean=1); with 1/count CBOW learns several times slower.
            vectors = summed + ops.stop_gradient(mean - summed)
        return ops.einsum("bd,bcd->bc", vectors, self.context(candidates))

    def get_config(self):
        return {
            "vocabulary_size": self.vocabulary_size,
            "dim": self.dim,
            "architecture": self.architecture,
            "seed": self.seed,
            "name": self.name,
        }

    @property
    def word_vectors(self):
        """The input (target) table as a NumPy array [vocabulary_size, dim]."""
        return ops.convert_to_numpy(self.target.embeddings)


@keras.saving.register_keras_serializable(package="dlkit")
class NegativeSamplingLoss(keras.losses.Loss):
    """Sigmoid negative-sampling loss: ``-log s(x_pos) - sum log s(-x_neg)``.

    ``y_true`` holds 1 for the word to predict and 0 for negatives; pass the
    accidental-hit mask as ``sample_weight`` (same shape as the logits). The
    default reduction is ``"sum"`` so one SGD step on a batch moves each pair
    as far as word2vec's per-pair update does.

    Reference: Mikolov et al. 2013 (NIPS), equation 4.
    """

    def __init__(self, reduction="sum", name="negative_sampling_loss", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        # softplus(-x) = -log sigmoid(x): stable for large |x|.
        return y_true * ops.softplus(-y_pred) + (1.0 - y_true) * ops.softplus(y_pred)

    def get_config(self):
        return {"reduction": self.reduction, "name": self.name, "dtype": self.dtype}
