"""The model registry: ``build(name, **overrides)``, ``names()``, ``register``.

Builders register themselves under their paper name (``lenet5``, ``vgg16``).
``build`` drops ``None`` overrides so that command-line flags can default to
``None`` and mean "the builder's own default".
"""

import difflib
import inspect

from dlkit.errors import ConfigError

_REGISTRY = {}


def register(name=None):
    """Decorator that registers a builder under ``name`` (default: its own name).

    Args:
        name: registry key; defaults to the function's ``__name__``.

    Returns:
        The decorator, which returns the builder unchanged.
    """

    def decorator(builder):
        key = name or builder.__name__
        if key in _REGISTRY and _REGISTRY[key] is not builder:
            raise ValueError(f"A model named {key!r} is already registered.")
        _REGISTRY[key] = builder
        return builder

    return decorator


def names():
    """Returns the sorted list of registered model names."""
    return sorted(_REGISTRY)


def get(name):
    """Returns the builder registered as ``name``.

    Raises:
        ConfigError: no model has that name; the message lists close matches and
            all names.
    """
    if name not in _REGISTRY:
        close = difflib.get_close_matches(str(name), _REGISTRY, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(
            f"Unknown model.{hint} Choose one of: {', '.join(names())}. "
            f"Received: model={name!r}"
        )
    return _REGISTRY[name]


def build(name, **overrides):
    """Builds the registered model ``name``.

    Args:
        name: a registered model name (see :func:`names`).
        **overrides: keyword arguments for the builder; ``None`` values are
            dropped so the builder's defaults apply.

    Returns:
        A ``keras.Model``.

    Raises:
        ConfigError: unknown name, or an override the builder does not accept.
    """
    builder = get(name)
    kwargs = {key: value for key, value in overrides.items() if value is not None}
    parameters = inspect.signature(builder).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    unknown = sorted(set(kwargs) - set(parameters))
    if unknown and not takes_any:
        raise ConfigError(
            f"{name} does not accept {', '.join(unknown)}; it accepts "
            f"{', '.join(parameters)}. Received: {kwargs}"
        )
    return builder(**kwargs)
