"""Multi-task heads: multi-label with missing labels, classification with localization, landmarks.

Keras has no masked losses (keras #6118, #12878): here a missing label (``-1``
by default) contributes nothing, neither to the sum nor to the count, and every
masked loss is the mean over the *observed* entries of the batch.

* :mod:`~dlkit.multitask.losses`: :class:`MaskedBinaryCrossentropy`,
  :class:`MaskedMeanSquaredError` (landmarks), :class:`LocalizationLoss`;
* :mod:`~dlkit.multitask.metrics`: :class:`MaskedBinaryAccuracy`,
  :class:`MaskedAUC`, :class:`MaskedMeanAbsoluteError`,
  :class:`LocalizationClassAccuracy`, :class:`LocalizationIoU`;
* :mod:`~dlkit.multitask.model`: :func:`build_multitask` (named heads on a
  shared trunk, with their ``loss``/``loss_weights``/``metrics`` dicts),
  :func:`compile_arguments`, :func:`multilabel_head`, :func:`conv_trunk`;
* :mod:`~dlkit.multitask.scores`: NumPy test-set scores of both tasks;
* :mod:`~dlkit.multitask.plots` (not imported here: matplotlib): the pictures
  of a multi-task run.

::

    spec = build_multitask(trunk, {"labels": {"kind": "multilabel", "units": 3}})
    spec.model.compile("adam", **spec.compile_arguments())

Every loss and metric is registered with ``keras.saving`` under the package
``"dlkit"`` (the names of the single module this package replaces).

Reference: R. Caruana, "Multitask Learning", Machine Learning 28 (1997);
classification with localization as in P. Sermanet et al., "OverFeat", ICLR 2014.
"""

from dlkit.multitask.losses import (
    LocalizationLoss,
    MaskedBinaryCrossentropy,
    MaskedMeanSquaredError,
)
from dlkit.multitask.metrics import (
    LocalizationClassAccuracy,
    LocalizationIoU,
    MaskedAUC,
    MaskedBinaryAccuracy,
    MaskedMeanAbsoluteError,
)
from dlkit.multitask.model import (
    TASK_KINDS,
    Multitask,
    build_multitask,
    compile_arguments,
    conv_trunk,
    multilabel_head,
)
from dlkit.multitask.scores import localization_scores, multilabel_scores

__all__ = [
    "TASK_KINDS", "LocalizationClassAccuracy", "LocalizationIoU", "LocalizationLoss", "MaskedAUC",
    "MaskedBinaryAccuracy", "MaskedBinaryCrossentropy", "MaskedMeanAbsoluteError", "MaskedMeanSquaredError",
    "Multitask", "build_multitask", "compile_arguments", "conv_trunk", "localization_scores", "multilabel_head",
    "multilabel_scores",
]
