"""The feature-extraction shortcut: run the frozen base once, train a head on the cache.

With a frozen base every epoch recomputes the same features; computing them once
(and caching them in a ``.npz`` file) makes head training nearly free, at the
cost of no data augmentation. A cache records which extractor and how many
examples made it, and is recomputed (with a warning) when they change.
"""

import os
import pathlib
import warnings

import keras
import numpy as np
import tensorflow as tf

from dlkit import progress, training
from dlkit.errors import ConfigError, DatasetError


def _fingerprint(extractor, dataset):
    """What must match for a cache to be reused: the extractor and the dataset's shape and batch count."""
    batches = int(dataset.cardinality()) if hasattr(dataset, "cardinality") else -1
    spec = getattr(dataset, "element_spec", None)
    return f"{extractor.name}|{extractor.count_params()}|{tuple(extractor.outputs[0].shape[1:])}|{batches}|{spec}"


def extract_features(extractor, dataset, cache=None, pooling="avg", callbacks=None, verbose=0):
    """Returns ``(features, labels)`` of ``dataset``: the extractor run once, optionally cached.

    Args:
        extractor: a ``keras.Model`` (e.g. from :func:`build_feature_extractor`,
            which includes the preprocessing) run in inference mode.
        dataset: a batched ``tf.data.Dataset`` of ``(images, labels)`` or of
            images only.
        cache: optional path of a ``.npz`` file: written on the first call,
            read back (without running the extractor) on the next.
        pooling: ``"avg"``, ``"max"`` or ``"flatten"`` for 4-D outputs.
        callbacks: Keras callbacks; ``on_train_batch_end(batch)`` is called after each batch.
        verbose: progress of the batches (:mod:`dlkit.progress`: 0, 1, 2 or ``"auto"``).

    Returns:
        ``(features, labels)``: float32 ``(N, D)`` and int ``(N,)`` (``None``
        when the dataset has no labels).

    Raises:
        DatasetError: the dataset is empty.
    """
    fingerprint = _fingerprint(extractor, dataset)
    path = pathlib.Path(cache) if cache is not None else None
    if path is not None and path.suffix != ".npz":
        raise ConfigError(f"cache must be a .npz path. Received: cache={str(cache)!r}")
    if path is not None and path.is_file():
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["fingerprint"]) == fingerprint and str(stored["pooling"]) == pooling:
                labels = stored["labels"] if stored["has_labels"] else None
                return stored["features"], labels
        warnings.warn(f"Feature cache {path} was made by another extractor or dataset; recomputing it.", stacklevel=2)

    features, labels = [], []
    progress_callbacks = progress.loop_callbacks(callbacks, training._cardinality(dataset), verbose,
                                                 label="extracting features", unit_name="batch")
    progress_callbacks.on_train_begin()
    for index, batch in enumerate(dataset):
        images, batch_labels = (batch[0], batch[1]) if isinstance(batch, (tuple, list)) else (batch, None)
        output = extractor(images, training=False)
        features.append(_pool(keras.ops.convert_to_numpy(output), pooling))
        if batch_labels is not None:
            labels.append(np.asarray(batch_labels))
        progress_callbacks.on_train_batch_end(index)
    progress_callbacks.on_train_end()
    if not features:
        raise DatasetError("The dataset yielded no examples to extract features from. Received: an empty dataset")
    features = np.concatenate(features).astype(np.float32)
    labels = np.concatenate(labels) if labels else None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial.npz")  # a killed run never leaves a half-written cache
        np.savez(
            partial,
            features=features,
            labels=labels if labels is not None else np.zeros(0, np.int32),
            has_labels=labels is not None,
            fingerprint=fingerprint,
            pooling=pooling,
        )
        os.replace(partial, path)
    return features, labels


def _pool(output, pooling):
    if output.ndim == 2:
        return output
    if output.ndim != 4:
        return output.reshape(len(output), -1)
    if pooling == "avg":
        return output.mean(axis=(1, 2))
    if pooling == "max":
        return output.max(axis=(1, 2))
    if pooling == "flatten":
        return output.reshape(len(output), -1)
    raise ConfigError(f"pooling must be 'avg', 'max' or 'flatten'. Received: pooling={pooling!r}")


def feature_head(feature_dim, num_classes, dropout=0.2, name="head"):
    """A ``Dropout -> Dense(softmax)`` head on ``(batch, feature_dim)`` features."""
    inputs = keras.Input((int(feature_dim),), name="features")
    x = keras.layers.Dropout(dropout, name="head_dropout")(inputs) if dropout else inputs
    # Zero weights, as build_classifier's head: every class starts at the same logit.
    outputs = keras.layers.Dense(int(num_classes), activation="softmax", kernel_initializer="zeros", dtype="float32",
                                 name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def train_head(
    features,
    labels,
    num_classes,
    *,
    dropout=0.2,
    epochs=30,
    batch_size=32,
    learning_rate=1e-3,
    validation=None,
    seed=0,
    **fit_options,
):
    """Trains :func:`feature_head` on cached features with :func:`dlkit.training.fit`.

    Args:
        features: ``(N, D)`` array from :func:`extract_features`.
        labels: ``(N,)`` class ids.
        num_classes: number of classes.
        dropout: dropout rate of the head.
        epochs, batch_size, learning_rate: training settings.
        validation: optional ``(features, labels)`` pair.
        seed: shuffle seed.
        **fit_options: more :func:`dlkit.training.fit` arguments.

    Returns:
        The :class:`dlkit.training.FitResult`.
    """
    if labels is None or len(features) != len(labels):
        raise ConfigError(f"features and labels must have the same length. Received: {len(features)} features")

    def batches(x, y, shuffle):
        dataset = tf.data.Dataset.from_tensor_slices((x.astype(np.float32), y.astype(np.int32)))
        if shuffle:
            dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        return dataset.batch(batch_size)

    head = feature_head(features.shape[1], num_classes, dropout)
    return training.fit(
        head,
        batches(features, labels, True),
        batches(*validation, False) if validation is not None else None,
        epochs=epochs,
        learning_rate=learning_rate,
        **fit_options,
    )


def attach_head(extractor, head, name=None):
    """Stacks a head trained on cached features onto its extractor: one model for images."""
    return keras.Sequential([extractor, head], name=name or f"{extractor.name}_with_{head.name}")
