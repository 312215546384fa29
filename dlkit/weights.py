"""Resolve the ``weights=`` argument of a builder.

``weights`` is ``None`` (random initialization), a path to a ``.keras`` model or a
``.weights.h5`` file, or a name that a builder knows how to fetch (``"imagenet"``
for the architectures that equal a ``keras.applications`` model).
"""

import os

from dlkit.errors import WeightsError


def load_into(model, weights, named=None):
    """Loads ``weights`` into ``model`` in place.

    Args:
        model: a built ``keras.Model``.
        weights: ``None``, a path (``.keras`` or ``.weights.h5``), or a key of
            ``named``.
        named: optional dict mapping weight names (e.g. ``"imagenet"``) to a
            callable ``loader(model)`` that loads them.

    Returns:
        The model.

    Raises:
        WeightsError: the file is missing or does not fit the model, or the name
            is unknown.
    """
    if weights is None:
        return model
    named = named or {}
    if isinstance(weights, str) and weights in named:
        named[weights](model)
        return model
    path = os.fspath(weights)
    if not os.path.exists(path):
        known = ", ".join(repr(key) for key in ["None", *named])
        raise WeightsError(
            f"Weights file not found; pass a path to a .keras or .weights.h5 file or one of {known}. "
            f"Received: weights={weights!r}"
        )
    try:
        if path.endswith(".keras"):
            import keras

            source = keras.models.load_model(path, compile=False)
            model.set_weights(source.get_weights())
        else:
            model.load_weights(path)
    except (ValueError, OSError, KeyError) as error:
        raise WeightsError(
            f"Weights in {path} do not fit model {model.name!r}: {error}. Received: weights={weights!r}"
        ) from error
    return model
