"""Transfer learning: pretrained backbones, freezing, feature extraction, fine-tuning.

The path the Keras transfer-learning guide recommends, with its pitfalls handled:

    from dlkit import data, transfer

    train, info = data.load("path/to/photos", "train", image_size=160, channels=3, normalize=False)
    model = transfer.build_classifier("mobilenet_v2", info.num_classes, weights="imagenet",
                                      input_shape=(160, 160, 3))
    result = transfer.fine_tune(model, train, head_epochs=5, fine_tune_epochs=5, fraction=0.3)

- :func:`build_classifier` / :func:`build_feature_extractor`: backbone by dlkit
  name, ``keras.applications`` name, saved ``.keras`` model or ``keras.Model``;
  its family's preprocessing built in; base called with ``training=False``.
- :func:`freeze`, :func:`unfreeze` (batch norm kept frozen), :func:`trainable_report`.
- :func:`fine_tune`: head first, then the top of the base at a lower rate.
- :func:`extract_features` (``.npz`` cache), :func:`train_head`, :func:`attach_head`.
- :class:`LayerwiseAdam` / :class:`LayerwiseSGD`: per-layer learning rates.
"""

from dlkit.transfer.backbones import (  # noqa: F401
    FeatureStandardization,
    backbone_choices,
    build_classifier,
    build_feature_extractor,
    cut_below_head,
    InferenceMode,
    find_base,
    keras_application_names,
    load_backbone,
)
from dlkit.transfer.features import attach_head, extract_features, feature_head, train_head  # noqa: F401
from dlkit.transfer.fine_tuning import FineTuneResult, fine_tune  # noqa: F401
from dlkit.transfer.freezing import (  # noqa: F401
    TrainableReport,
    block_of,
    freeze,
    set_trainable,
    trainable_report,
    unfreeze,
)
from dlkit.transfer import optimizers  # noqa: F401,E402
from dlkit.transfer.optimizers import LayerwiseAdam, LayerwiseSGD, layer_decay_multipliers  # noqa: F401
from dlkit.transfer.preprocessing import BackbonePreprocessing, mode_for  # noqa: F401
