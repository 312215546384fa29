"""Recurrent builders: a language model, a many-to-one classifier and a many-to-many tagger.

They stack Keras's own ``SimpleRNN``/``GRU``/``LSTM`` layers (``cell="simple"|"gru"|"lstm"``)
with their default activations, so TensorFlow runs the cuDNN kernels on a GPU
(masked inputs must then be right-padded). Layer names are fixed: ``tokens``
(input), ``embedding``, ``rnn_1`` ... ``rnn_N`` (or ``bidirectional_1`` ...
wrapping ``rnn_1`` ...), ``dropout_1`` ... (only when ``dropout > 0``) and
``predictions``, a float32 softmax so the models train under mixed precision::

    model = char_language_model(vocabulary.size)
    model = build("sequence_classifier", vocabulary_size=20000, num_classes=2, cell=None)  # None: default
"""

import inspect

import keras
import numpy as np

from dlkit.errors import ConfigError

#: ``cell`` name -> Keras recurrent layer.
CELLS = {
    "simple": keras.layers.SimpleRNN,
    "gru": keras.layers.GRU,
    "lstm": keras.layers.LSTM,
}


def _check_integer(name, value, minimum):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}. Received: {name}={value!r}")
    return int(value)


def _check_common(vocabulary_size, embedding_dim, units, num_layers, cell, dropout):
    _check_integer("vocabulary_size", vocabulary_size, 2)
    _check_integer("embedding_dim", embedding_dim, 1)
    _check_integer("units", units, 1)
    _check_integer("num_layers", num_layers, 1)
    if cell not in CELLS:
        raise ConfigError(f"cell must be one of {', '.join(repr(name) for name in CELLS)}. Received: cell={cell!r}")
    if not isinstance(dropout, (int, float, np.floating)) or not 0.0 <= dropout < 1.0:
        raise ConfigError(f"dropout must be a number in [0, 1). Received: dropout={dropout!r}")


def _recurrent_stack(x, units, num_layers, cell, dropout, bidirectional=False, last_returns_sequences=True):
    """Stacks ``num_layers`` recurrent layers (each followed by dropout when ``dropout > 0``)."""
    for index in range(1, num_layers + 1):
        returns_sequences = last_returns_sequences or index < num_layers
        layer = CELLS[cell](units, return_sequences=returns_sequences, name=f"rnn_{index}")
        if bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"bidirectional_{index}")
        x = layer(x)
        if dropout > 0:
            x = keras.layers.Dropout(dropout, name=f"dropout_{index}")(x)
    return x


def language_model(vocabulary_size, embedding_dim=64, units=256, num_layers=1, cell="lstm", dropout=0.0,
                   name="language_model"):
    """A recurrent language model: the distribution of the next token at every step.

    ``tokens`` ``(batch, time)`` int32 -> ``embedding`` -> ``rnn_1`` ... ``rnn_N``
    (``return_sequences=True``) -> ``predictions``, a softmax over the vocabulary
    ``(batch, time, vocabulary_size)`` in float32. Train it on windows whose
    targets are the inputs shifted by one
    (:func:`dlkit.sequence.language_model_batches`) with
    ``sparse_categorical_crossentropy``; generate with
    :func:`dlkit.sequence.sample`. The embedding does not mask: windows of a
    language model are cut from running text and hold no padding.

    References:
        T. Mikolov, M. Karafiát, L. Burget, J. Černocký, S. Khudanpur,
        "Recurrent Neural Network Based Language Model", Interspeech 2010;
        A. Graves, "Generating Sequences With Recurrent Neural Networks", 2013.

    Args:
        vocabulary_size: number of token ids (>= 2), the size of the softmax.
        embedding_dim: size of a token's vector.
        units: size of each recurrent layer's state.
        num_layers: number of stacked recurrent layers.
        cell: ``"simple"``, ``"gru"`` or ``"lstm"``.
        dropout: rate of the dropout after each recurrent layer, in [0, 1).
        name: model name.

    Returns:
        A ``keras.Model``.

    Raises:
        ConfigError: an argument is out of range or ``cell`` is unknown.
    """
    _check_common(vocabulary_size, embedding_dim, units, num_layers, cell, dropout)
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(vocabulary_size, embedding_dim, name="embedding")(tokens)
    x = _recurrent_stack(x, units, num_layers, cell, dropout)
    outputs = keras.layers.Dense(vocabulary_size, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(tokens, outputs, name=name)


def char_language_model(vocabulary_size, embedding_dim=32, units=256, num_layers=1, cell="lstm", dropout=0.0,
                        name="char_language_model"):
    """A character-level :func:`language_model` (Karpathy's char-rnn; keras.io's character LSTM).

    Reference:
        A. Karpathy, "The Unreasonable Effectiveness of Recurrent Neural
        Networks", 2015; Graves 2013.

    Args:
        vocabulary_size: ``CharVocabulary.size``.
        embedding_dim, units, num_layers, cell, dropout, name: see :func:`language_model`.

    Returns:
        A ``keras.Model``.
    """
    return language_model(vocabulary_size, embedding_dim=embedding_dim, units=units, num_layers=num_layers,
                          cell=cell, dropout=dropout, name=name)


def word_language_model(vocabulary_size, embedding_dim=128, units=256, num_layers=1, cell="lstm", dropout=0.2,
                        name="word_language_model"):
    """A word-level :func:`language_model`, with dropout as word models need it.

    Reference:
        W. Zaremba, I. Sutskever, O. Vinyals, "Recurrent Neural Network
        Regularization", 2014; Mikolov et al. 2010.

    Args:
        vocabulary_size: number of word ids.
        embedding_dim, units, num_layers, cell, dropout, name: see :func:`language_model`.

    Returns:
        A ``keras.Model``.
    """
    return language_model(vocabulary_size, embedding_dim=embedding_dim, units=units, num_layers=num_layers,
                          cell=cell, dropout=dropout, name=name)


def _embedding_matrix(embedding_weights, vocabulary_size, embedding_dim):
    """Checks ``embedding_weights`` and returns ``(matrix or None, embedding_dim)``."""
    if embedding_weights is None:
        return None, 64 if embedding_dim is None else embedding_dim
    matrix = np.asarray(embedding_weights, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != vocabulary_size or (
            embedding_dim is not None and matrix.shape[1] != embedding_dim):
        wanted = f"({vocabulary_size}, {embedding_dim if embedding_dim is not None else 'dim'})"
        raise ConfigError(f"embedding_weights must have shape {wanted} (vocabulary_size, embedding_dim). "
                          f"Received: embedding_weights with shape {matrix.shape}")
    return matrix, matrix.shape[1]


def _masked_recurrent_model(vocabulary_size, outputs_size, outputs_name, embedding_dim, units, num_layers, cell,
                            bidirectional, dropout, embedding_weights, trainable_embedding, name, per_token):
    _check_integer(outputs_name, outputs_size, 2)
    matrix, embedding_dim = _embedding_matrix(embedding_weights, vocabulary_size, embedding_dim)
    _check_common(vocabulary_size, embedding_dim, units, num_layers, cell, dropout)
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    embedding = keras.layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True,
                                       trainable=bool(trainable_embedding), name="embedding")
    x = embedding(tokens)
    x = _recurrent_stack(x, units, num_layers, cell, dropout, bidirectional=bidirectional,
                         last_returns_sequences=per_token)
    outputs = keras.layers.Dense(outputs_size, activation="softmax", dtype="float32", name="predictions")(x)
    model = keras.Model(tokens, outputs, name=name)
    if matrix is not None:
        embedding.set_weights([matrix])
    return model


def sequence_classifier(vocabulary_size, num_classes, embedding_dim=None, units=64, num_layers=1, cell="gru",
                        bidirectional=True, dropout=0.0, embedding_weights=None, trainable_embedding=True,
                        name="sequence_classifier"):
    """Many-to-one: one softmax over classes for a whole sequence of token ids (sentiment, a name's language).

    ``tokens`` ``(batch, time)`` int32, ``0`` = padding -> ``embedding``
    (``mask_zero=True``) -> recurrent layers (the last returns its final
    state; bidirectional: both directions' final states, concatenated) ->
    ``predictions`` ``(batch, num_classes)``. The mask makes every recurrent
    layer skip padding, so padding never changes a prediction (on a GPU the
    cuDNN kernels need right padding).

    References:
        M. Schuster, K. K. Paliwal, "Bidirectional Recurrent Neural Networks",
        IEEE Transactions on Signal Processing 45(11), 1997; the recurrent
        cells of Cho et al. 2014 (GRU) and Hochreiter & Schmidhuber 1997 (LSTM).

    Args:
        vocabulary_size: number of token ids including padding 0 (>= 2).
        num_classes: number of classes (>= 2).
        embedding_dim: size of a token's vector; default 64, or the width of
            ``embedding_weights``.
        units: size of each recurrent layer's state (per direction).
        num_layers: number of stacked recurrent layers.
        cell: ``"simple"``, ``"gru"`` or ``"lstm"``.
        bidirectional: wrap each recurrent layer in ``Bidirectional`` (concatenated).
        dropout: rate of the dropout after each recurrent layer, in [0, 1).
        embedding_weights: optional array ``(vocabulary_size, embedding_dim)`` to
            start the embedding from, e.g.
            ``dlkit.embeddings.embedding_matrix(word_vectors, vocabulary)[0]``.
        trainable_embedding: ``False`` freezes the embedding.
        name: model name.

    Returns:
        A ``keras.Model``.

    Raises:
        ConfigError: an argument is out of range, ``cell`` is unknown, or
            ``embedding_weights`` has the wrong shape.
    """
    return _masked_recurrent_model(vocabulary_size, num_classes, "num_classes", embedding_dim, units, num_layers,
                                   cell, bidirectional, dropout, embedding_weights, trainable_embedding, name,
                                   per_token=False)


def sequence_tagger(vocabulary_size, num_tags, embedding_dim=None, units=64, num_layers=1, cell="gru",
                    bidirectional=True, dropout=0.0, embedding_weights=None, trainable_embedding=True,
                    name="sequence_tagger"):
    """Many-to-many: one softmax over tags per token (part of speech, named entities).

    Like :func:`sequence_classifier`, but every recurrent layer returns its
    whole sequence and ``predictions`` is ``(batch, time, num_tags)``. The mask
    of padding (id 0) reaches the output, so Keras's losses and metrics skip
    padded steps; a real token's tags do not depend on how much padding follows it.

    References:
        Z. Huang, W. Xu, K. Yu, "Bidirectional LSTM-CRF Models for Sequence
        Tagging", 2015; A. Graves, J. Schmidhuber, "Framewise Phoneme
        Classification with Bidirectional LSTM and Other Neural Network
        Architectures", Neural Networks 18, 2005.

    Args:
        vocabulary_size: number of token ids including padding 0 (>= 2).
        num_tags: number of tags (>= 2).
        embedding_dim, units, num_layers, cell, bidirectional, dropout,
        embedding_weights, trainable_embedding: see :func:`sequence_classifier`.
        name: model name.

    Returns:
        A ``keras.Model``.

    Raises:
        ConfigError: an argument is out of range, ``cell`` is unknown, or
            ``embedding_weights`` has the wrong shape.
    """
    return _masked_recurrent_model(vocabulary_size, num_tags, "num_tags", embedding_dim, units, num_layers,
                                   cell, bidirectional, dropout, embedding_weights, trainable_embedding, name,
                                   per_token=True)


#: Builder name -> builder.
BUILDERS = {
    "language_model": language_model,
    "char_language_model": char_language_model,
    "word_language_model": word_language_model,
    "sequence_classifier": sequence_classifier,
    "sequence_tagger": sequence_tagger,
}


def build(name, **overrides):
    """Builds the sequence model ``name`` of :data:`BUILDERS`.

    Args:
        name: a key of :data:`BUILDERS`.
        **overrides: the builder's keyword arguments; ``None`` values are
            dropped so that command-line flags can default to ``None``.

    Returns:
        A ``keras.Model``.

    Raises:
        ConfigError: unknown name, or an override the builder does not accept.
    """
    if name not in BUILDERS:
        raise ConfigError(f"Unknown sequence model. Choose one of: {', '.join(sorted(BUILDERS))}. "
                          f"Received: name={name!r}")
    builder = BUILDERS[name]
    kwargs = {key: value for key, value in overrides.items() if value is not None}
    accepted = list(inspect.signature(builder).parameters)
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ConfigError(f"{name} does not accept {', '.join(unknown)}; it accepts {', '.join(accepted)}. "
                          f"Received: {kwargs}")
    return builder(**kwargs)
