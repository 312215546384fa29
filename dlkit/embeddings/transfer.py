"""Transfer: start a new model's ``Embedding`` layer from trained word vectors."""

import keras
import numpy as np

from dlkit.errors import ConfigError


def embedding_matrix(vectors, vocabulary):
    """Rows of ``vectors`` for each word of a new task's vocabulary.

    Args:
        vectors: a ``WordVectors``.
        vocabulary: the new task's words by index, e.g.
            ``TextVectorization.get_vocabulary()`` (``""`` padding and
            ``"[UNK]"`` first), a list, or a ``Vocabulary``.

    Returns:
        ``(matrix, found)``: float32 [len(vocabulary), dim] with zeros for words
        without a vector (padding, unknown), and how many words had one.
    """
    words = list(getattr(vocabulary, "words", vocabulary))
    if not words:
        raise ConfigError("vocabulary is empty. Received: vocabulary=[]")
    matrix = np.zeros((len(words), vectors.dim), np.float32)
    found = 0
    for i, word in enumerate(words):
        if word in vectors:
            matrix[i] = vectors[word]
            found += 1
    return matrix, found


def embedding_layer(vectors, vocabulary, trainable=False, mask_zero=False, name="embedding"):
    """A Keras ``Embedding`` initialized with trained vectors for ``vocabulary``.

    As in the Keras guide "Using pre-trained word embeddings": frozen by
    default (``trainable=False``) so the small task does not destroy the
    vectors; unfreeze later to fine-tune with a low learning rate.

    Args:
        vectors: a ``WordVectors``.
        vocabulary: the new task's words by index (see ``embedding_matrix``).
        trainable: whether the layer is trained.
        mask_zero: treat index 0 as padding (``TextVectorization``'s convention).
        name: layer name.

    Returns:
        A built ``keras.layers.Embedding``.
    """
    matrix, _ = embedding_matrix(vectors, vocabulary)
    layer = keras.layers.Embedding(matrix.shape[0], matrix.shape[1], mask_zero=mask_zero, name=name)
    layer.build((None,))
    layer.set_weights([matrix])
    layer.trainable = trainable
    return layer
