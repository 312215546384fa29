"""Word embeddings: word2vec with negative sampling, evaluation, export, transfer.

    from dlkit.embeddings import read_corpus, train_word2vec
    result = train_word2vec(read_corpus("head500"), dim=100, epochs=5)   # negatives="shared" (fast) or "exact"
    result.vectors.most_similar("king")
    result.vectors.save_word2vec_format("vectors.txt")
"""

from dlkit import lazy_names
from dlkit.embeddings.corpus import BUNDLED, read_corpus, tokenize
from dlkit.embeddings.model import NegativeSamplingLoss, Word2Vec
from dlkit.embeddings.transfer import embedding_layer, embedding_matrix
from dlkit.embeddings.vectors import WordVectors
from dlkit.embeddings.vocabulary import Vocabulary

# The sampling pipelines and the trainer are TensorFlow (tf.data, a compiled sparse SGD): imported on first use, so
# the Word2Vec model and its loss import under any Keras backend (docs/backends.md).
__getattr__, __dir__ = lazy_names(__name__, {
    **{name: "sampling" for name in ("NegativeSampler", "cbow_examples", "epoch_skipgram_pairs", "make_chunks",
                                     "make_dataset", "skipgram_pairs", "subsample")},
    **{name: "training" for name in ("NEGATIVE_MODES", "Word2VecResult", "shared_negatives_step", "sparse_sgd_step",
                                     "train_word2vec")},
})

__all__ = [
    "BUNDLED", "NEGATIVE_MODES", "NegativeSampler", "NegativeSamplingLoss", "Vocabulary", "Word2Vec", "Word2VecResult",
    "WordVectors", "cbow_examples", "embedding_layer", "embedding_matrix", "epoch_skipgram_pairs", "make_chunks",
    "make_dataset", "read_corpus", "shared_negatives_step", "skipgram_pairs", "sparse_sgd_step", "subsample",
    "tokenize", "train_word2vec",
]
