"""Transfer learning: pretrained backbones, freezing, feature extraction, fine-tuning.

The path the Keras transfer-learning guide recommends, with its pitfalls handled:

    from dlkit import transfer

    task = transfer.prepare_task("mobilenet_v2", "path/to/photos", 160, weights="imagenet")
    result = transfer.fine_tune(task.model, task.train, task.dev, head_epochs=5, fine_tune_epochs=5, fraction=0.3)

- :func:`prepare_task`: backbone, classifier and the train/dev/test splits of an
  image folder or a TFDS set, at one image size, in one call.
- :func:`build_classifier` / :func:`build_feature_extractor`: backbone by dlkit
  name, ``keras.applications`` name, saved ``.keras`` model or ``keras.Model``;
  its family's preprocessing built in; base called with ``training=False``.
- :func:`freeze`, :func:`unfreeze` (batch norm kept frozen), :func:`trainable_report`.
- :func:`fine_tune`: head first, then the top of the base at a lower rate.
- :func:`extract_features` (``.npz`` cache), :func:`train_head`, :func:`attach_head`.
- :class:`LayerwiseAdam` / :class:`LayerwiseSGD`: per-layer learning rates.
- :mod:`dlkit.transfer.experiments` (the recipe's few-shot and linear-probe
  comparisons) and :mod:`dlkit.transfer.plots` (their pictures).
"""

from dlkit import lazy_names
from dlkit.transfer import optimizers, plots
from dlkit.transfer.backbones import (
    FeatureStandardization,
    InferenceMode,
    backbone_choices,
    build_classifier,
    build_feature_extractor,
    cut_below_head,
    find_base,
    keras_application_names,
    load_backbone,
)
from dlkit.transfer.freezing import (
    TrainableReport,
    block_of,
    freeze,
    set_trainable,
    trainable_report,
    unfreeze,
)
from dlkit.transfer.optimizers import (
    LayerwiseAdam,
    LayerwiseSGD,
    layer_decay_multipliers,
)
from dlkit.transfer.preprocessing import BackbonePreprocessing, mode_for

# Feature extraction, fine-tuning and the task's splits train through dlkit.training and tf.data: imported on first
# use, so the backbones, freezing and optimizers above import without TensorFlow (docs/backends.md).
__getattr__, __dir__ = lazy_names(__name__, {
    "experiments": "experiments",
    "attach_head": "features", "extract_features": "features", "feature_head": "features", "train_head": "features",
    "FineTuneResult": "fine_tuning", "fine_tune": "fine_tuning",
    "TransferTask": "task", "prepare_task": "task",
})

__all__ = [
    "BackbonePreprocessing",
    "FeatureStandardization",
    "FineTuneResult",
    "InferenceMode",
    "LayerwiseAdam",
    "LayerwiseSGD",
    "TrainableReport",
    "TransferTask",
    "attach_head",
    "backbone_choices",
    "block_of",
    "build_classifier",
    "build_feature_extractor",
    "cut_below_head",
    "experiments",
    "extract_features",
    "feature_head",
    "find_base",
    "fine_tune",
    "freeze",
    "keras_application_names",
    "layer_decay_multipliers",
    "load_backbone",
    "mode_for",
    "optimizers",
    "plots",
    "prepare_task",
    "set_trainable",
    "train_head",
    "trainable_report",
    "unfreeze",
]
