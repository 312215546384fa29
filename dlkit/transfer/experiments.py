"""The two offline demonstrations of what pretrained features buy, as the transfer-learning recipe runs them.

- Few-shot digits (:func:`train_three_arms`): a network pretrained on some
  classes learns new ones from a few images each, three ways with the same
  architecture, optimizer and epochs: from scratch, frozen pretrained features
  (a new head only) and fine-tuned (:func:`dlkit.transfer.fine_tune`: head
  first, then the base at a lower rate). Yosinski et al., "How transferable are
  features in deep neural networks?", NeurIPS 2014
  (https://arxiv.org/abs/1411.1792).
- A linear probe (:func:`linear_probe`): frozen backbone features, computed once
  and cached, and a softmax head trained on them (Razavian et al., "CNN Features
  off-the-shelf: an Astounding Baseline for Recognition", CVPR workshops 2014,
  https://arxiv.org/abs/1403.6382).
"""

import dataclasses
import pathlib

import keras
import numpy as np
import tensorflow as tf

from dlkit import progress, training
from dlkit.transfer.backbones import build_classifier, build_feature_extractor
from dlkit.transfer.features import extract_features, train_head
from dlkit.transfer.fine_tuning import fine_tune

#: The arms of :func:`train_three_arms`, in order.
ARMS = ("scratch", "frozen", "finetuned")


def digit_arrays(splits, classes, image_size):
    """Returns ``(images, labels)`` of the digits ``classes`` in ``splits``, as NumPy arrays.

    Args:
        splits: the ``dlkit.data.load("digits", ...)`` splits to concatenate.
        classes: the digits to keep; labels count from 0 (``classes[0]`` is 0).
        image_size: the side the 8x8 digits are resized to.

    Returns:
        Images ``(N, size, size, 1)`` in ``[0, 255]`` and ``int32`` labels.
    """
    from dlkit import data

    parts = [data.load("digits", split, image_size=image_size, batch_size=None, classes=classes, normalize=False)[0]
             for split in splits]
    images, labels = zip(*(pair for part in parts for pair in part.as_numpy_iterator()))
    return np.stack(images), np.asarray(labels, np.int32) - min(classes)


def few_shot(images, labels, shots, seed):
    """Returns ``shots`` random examples of each class (``(images, labels)``)."""
    rng = np.random.default_rng(seed)
    keep = np.concatenate(
        [rng.choice(np.flatnonzero(labels == label), shots, replace=False) for label in np.unique(labels)]
    )
    return images[keep], labels[keep]


def batches(images, labels, batch_size, seed=None):
    """A batched ``tf.data.Dataset`` of ``(images, labels)``, reshuffled every epoch when ``seed`` is given."""
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    if seed is not None:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size)


def accuracy(model, images, labels):
    """The share of ``images`` that ``model`` classifies as ``labels``."""
    predictions = np.argmax(keras.ops.convert_to_numpy(model(images, training=False)), axis=-1)
    return float(np.mean(predictions == labels))


class HeldOutAccuracy(keras.callbacks.Callback):
    """Records held-out accuracy after every epoch in ``record``, keyed by the (continuing) epoch index.

    Args:
        images: the held-out images, as the model takes them.
        labels: their labels.
        record: the dict to fill (``{epoch: accuracy}``).
    """

    def __init__(self, images, labels, record):
        super().__init__()
        self.images, self.labels, self.record = images, labels, record

    def on_epoch_end(self, epoch, logs=None):
        self.record[epoch] = accuracy(self.model, self.images, self.labels)


def train_three_arms(
    pretrained_path,
    scratch_base,
    train,
    held_out,
    num_classes,
    *,
    epochs,
    learning_rate,
    fine_tune_learning_rate=None,
    fraction=None,
    seed=0,
    strategy="default",
    verbose=0,
    tensorboard=False,
):
    """Trains the same architecture on a new task from scratch, frozen and fine-tuned; scores each epoch.

    Every arm is a :func:`~dlkit.transfer.build_classifier` with flattened
    features, trained with Adam for ``epochs`` passes over ``train``. From
    scratch, batch norm trains as usual (live statistics); the pretrained arms
    keep the base in inference mode, as transfer learning should. The fine-tuned
    arm trains its head for ``epochs // 2`` epochs, then the base too.

    Args:
        pretrained_path: the ``.keras`` model pretrained on the old task (cut below its head).
        scratch_base: a callable returning the same architecture without top,
            randomly initialized (called after seeding).
        train: the new task's batched training set.
        held_out: ``(images, labels)`` the arms are scored on after every epoch.
        num_classes: classes of the new task.
        epochs: epochs of every arm (>= 2).
        learning_rate: the head's (and from-scratch) learning rate.
        fine_tune_learning_rate: phase 2's rate (default: ``learning_rate / 100``).
        fraction: share of the base to unfreeze in phase 2 (default: all).
        seed: the seed set before building each arm.
        strategy: a :func:`dlkit.training.fit` distribution strategy.
        verbose: progress of each arm's training (:func:`dlkit.training.fit`'s ``verbose``).
        tensorboard: a folder for TensorBoard logs, one subfolder per arm; ``False``: none.

    Returns:
        ``(curves, tuned)``: ``{arm: [held-out accuracy after each epoch]}`` for
        :data:`ARMS` and the fine-tuned model.
    """
    records = {arm: {} for arm in ARMS}
    common = {"optimizer": "adam", "verbose": verbose, "strategy": strategy, "learning_rate": learning_rate}
    shape = tuple(held_out[0].shape[1:])

    def options(arm):  # the fit arguments of one arm: the shared ones, its held-out scorer, its own logs
        if progress.check_verbose(verbose):
            print(f"training the {arm} arm ({epochs} epochs)", flush=True)
        return {**common, "callbacks": [HeldOutAccuracy(*held_out, records[arm])],
                "tensorboard": str(pathlib.Path(tensorboard) / arm) if tensorboard else False}

    keras.utils.set_random_seed(seed)
    scratch = build_classifier(scratch_base(), num_classes, input_shape=shape, freeze=False, pooling="flatten",
                               inference_mode=False)
    training.fit(scratch, train, epochs=epochs, **options("scratch"))

    keras.utils.set_random_seed(seed)
    frozen = build_classifier(str(pretrained_path), num_classes, input_shape=shape, pooling="flatten")
    training.fit(frozen, train, epochs=epochs, **options("frozen"))

    keras.utils.set_random_seed(seed)
    tuned = build_classifier(str(pretrained_path), num_classes, input_shape=shape, pooling="flatten")
    head_epochs = epochs // 2
    tuned = fine_tune(  # under a distribution strategy, the trained model is a copy made in its scope
        tuned, train, head_epochs=head_epochs, fine_tune_epochs=epochs - head_epochs,
        fine_tune_learning_rate=fine_tune_learning_rate, fraction=fraction,
        head_steps=0,  # the arms' equal budget: one pass per epoch, as the other two get
        **options("finetuned"),
    ).model
    curves = {arm: [records[arm][epoch] for epoch in sorted(records[arm])] for arm in ARMS}
    return curves, tuned


@dataclasses.dataclass
class ProbeResult:
    """What :func:`linear_probe` gives back.

    Attributes:
        accuracy: test accuracy of the head on the frozen features.
        model: one model for images: the extractor, the training
            standardization and the head.
    """

    accuracy: float
    model: keras.Model


def linear_probe(backbone, weights, train, test, num_classes, *, cache, epochs, seed=0, strategy="default",
                 cut_at=None, pooling="avg", name=None, verbose=0, tensorboard=False):
    """Frozen backbone features, standardized, and a softmax head trained on them; scored on ``test``.

    Args:
        backbone: a backbone for :func:`~dlkit.transfer.build_feature_extractor`.
        weights: its weights (``None``: random initialization).
        train: ``(images in [0, 255], labels)`` NumPy arrays.
        test: the same for the test set.
        num_classes: number of classes.
        cache: path prefix of the feature caches (``<cache>_train<N>.npz``,
            ``<cache>_test<N>.npz``): a second run reads them back.
        epochs: epochs of the head.
        seed: the seed of the extractor's initialization and of the head.
        strategy: a :func:`dlkit.training.fit` distribution strategy.
        cut_at: the backbone layer whose output is pooled.
        pooling: ``"avg"``, ``"max"`` or ``"flatten"``.
        name: the extractor's name (the model's is ``<name>_classifier``).
        verbose: progress of the feature extraction and of the head's training (:mod:`dlkit.progress`).
        tensorboard: a folder for the head's TensorBoard logs; ``False``: none.

    Returns:
        A :class:`ProbeResult`.
    """
    keras.utils.set_random_seed(seed)
    input_shape = tuple(train[0].shape[1:])
    extractor = build_feature_extractor(backbone, weights=weights, input_shape=input_shape, cut_at=cut_at,
                                        pooling=pooling, name=name)
    features = {}
    for split, (images, _) in (("train", train), ("test", test)):
        dataset = tf.data.Dataset.from_tensor_slices(images).batch(32)
        features[split], _ = extract_features(extractor, dataset, cache=f"{cache}_{split}{len(images)}.npz",
                                          verbose=verbose)
    # Standardize with the training statistics: random features are tiny, and this is fair to both arms.
    mean, std = features["train"].mean(axis=0), features["train"].std(axis=0) + 1e-6
    head = train_head((features["train"] - mean) / std, train[1], num_classes, epochs=epochs, batch_size=16,
                      seed=seed, strategy=strategy, verbose=verbose,
                      tensorboard=tensorboard).model
    probabilities = head.predict((features["test"] - mean) / std, verbose=0)
    score = float(np.mean(np.argmax(probabilities, axis=-1) == test[1]))
    standardize = keras.layers.Normalization(mean=mean, variance=std**2, name="standardize")
    images = keras.Input(input_shape, name="images")
    classifier = keras.Model(images, head(standardize(extractor(images))), name=f"{extractor.name}_classifier")
    return ProbeResult(score, classifier)
