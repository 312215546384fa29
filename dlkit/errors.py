"""User-facing errors.

Every failure caused by what a user asked for (a bad path, an unknown model, an
unreadable image, a download that cannot happen) raises a :class:`DlkitError`.
Recipes print its one-line message to stderr and exit with status 2; a real bug
still shows a traceback. Messages say what is wrong, what to do, and end with
what was received.
"""


class DlkitError(Exception):
    """Base class of every user-facing dlkit error."""


class ConfigError(DlkitError, ValueError):
    """An argument or flag has a value dlkit cannot use."""


class DatasetError(DlkitError):
    """A dataset cannot be found, downloaded, or read."""


class ImageError(DatasetError):
    """An image file is missing, unreadable, or not an image."""


class WeightsError(DlkitError):
    """Pretrained weights cannot be found, downloaded, or loaded."""


class TrainingError(DlkitError):
    """Training diverged (NaN/Inf loss) or cannot continue."""
