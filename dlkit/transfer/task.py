"""Your images on a backbone in one call: the classifier and the three splits, at one image size.

:func:`prepare_task` loads the backbone first (a bad name or unreachable weights
fail before any data is read), then the train, dev and test splits resized to the
same ``image_size`` as ``[0, 255]`` RGB pixels, then puts the classifier on the
backbone with the backbone's own preprocessing inside. All of it is built under
one :func:`dlkit.training.build_scope`, so a distribution strategy and mixed
precision apply to every variable, and :func:`dlkit.transfer.fine_tune` trains
the model itself rather than a copy.
"""

import dataclasses
import os

from dlkit import data, training
from dlkit.transfer.backbones import build_classifier, load_backbone


@dataclasses.dataclass
class TransferTask:
    """What :func:`prepare_task` gives back.

    Attributes:
        model: the classifier (:func:`~dlkit.transfer.build_classifier`, base frozen).
        train: the batched training split, ``(images in [0, 255], labels)``.
        dev: the dev split.
        test: the test split.
        info: the dataset's ``DatasetInfo`` (``num_classes``, ``class_names``).
        preprocessing: the backbone's preprocessing mode inside the model (``"caffe"``, ``"tf"``, ...).
        strategy: the ``tf.distribute.Strategy`` the model was built under (pass it on to ``fine_tune``).
    """

    model: object
    train: object
    dev: object
    test: object
    info: object
    preprocessing: str
    strategy: object


def prepare_task(backbone, dataset, image_size, *, weights=None, batch_size=32, data_dir=None, seed=0, split_seed=0,
                 skip_bad_images=False, strategy="default", mixed_precision=False):
    """Builds a classifier on ``backbone`` for ``dataset`` and loads its splits, all at ``image_size``.

    Args:
        backbone: a dlkit or ``keras.applications`` name, a ``.keras`` file or a
            ``keras.Model`` (see :func:`~dlkit.transfer.load_backbone`).
        dataset: an image folder (one sub-folder per class) or a TFDS name.
        image_size: the side every image is resized to (and the model's input).
        weights: the backbone's weights (``None``, ``"imagenet"``, ``"vgg16-hed"``, a file).
        batch_size: batch size of the splits.
        data_dir: TFDS data folder.
        seed: seed of the training split's shuffle.
        split_seed: an image folder's train/dev/test split seed.
        skip_bad_images: an image folder: skip unreadable images with a warning.
        strategy: a distribution strategy name or object (see :func:`dlkit.training.make_strategy`).
        mixed_precision: build under ``mixed_float16`` (the head's output stays float32).

    Returns:
        A :class:`TransferTask`.

    Raises:
        ConfigError: unknown backbone or dataset.
        WeightsError: weights that cannot be loaded (offline ``"imagenet"`` within seconds).
    """
    shape = (image_size, image_size, 3)
    options = {"image_size": image_size, "batch_size": batch_size, "data_dir": data_dir, "seed": seed,
               "channels": 3, "normalize": False}
    if os.path.isdir(str(dataset)):
        options.update(split_seed=split_seed, skip_bad_images=skip_bad_images)
    # Reading the splits creates no variable, so it may happen inside the scope.
    with training.build_scope(strategy, mixed_precision) as scope_strategy:
        base, mode = load_backbone(backbone, weights=weights, input_shape=shape)
        train, info = data.load(dataset, "train", **options)
        dev, _ = data.load(dataset, "dev", **options)
        test, _ = data.load(dataset, "test", **options)
        model = build_classifier(base, info.num_classes, input_shape=shape, preprocessing=mode)
    return TransferTask(model, train, dev, test, info, mode, scope_strategy)
