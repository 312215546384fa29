"""``FaceDatabase``: enroll people, identify a face or answer "unknown" (the turnstile example)."""

import pathlib

import numpy as np

from dlkit.errors import ConfigError, DatasetError
from dlkit.verification.distances import check_distance, cross_distances

UNKNOWN = "unknown"


class FaceDatabase:
    """A gallery of enrolled embeddings with nearest-neighbour identification.

    ``identify`` embeds the probe, finds the closest enrolled embedding, and
    answers its name when the distance is at most ``threshold``, else
    ``"unknown"``, so a person who was never enrolled is rejected.

    Args:
        model: the embedding model (anything with ``predict(images)``), or
            ``None`` to enroll and identify embeddings directly.
        threshold: the largest distance accepted as a match (e.g. from
            :func:`choose_threshold`).
        distance: ``"squared_l2"``, ``"l2"`` or ``"cosine"``.
        mode: ``"mean"`` keeps one re-normalized mean embedding per person;
            ``"all"`` keeps every enrolled embedding.
    """

    def __init__(self, model=None, threshold=1.0, distance="squared_l2", mode="mean"):
        check_distance(distance)
        if mode not in ("mean", "all"):
            raise ConfigError(f"mode must be 'mean' or 'all'. Received: mode={mode!r}")
        if not np.isfinite(threshold):
            raise ConfigError(f"threshold must be finite. Received: threshold={threshold}")
        self.model = model
        self.threshold = float(threshold)
        self.distance = distance
        self.mode = mode
        self.names = np.zeros((0,), dtype=str)
        self.embeddings = None

    def __len__(self):
        return len(set(self.names.tolist()))

    def _embed(self, images):
        if self.model is None:
            return np.asarray(images, dtype=np.float32)
        return np.asarray(self.model.predict(np.asarray(images), verbose=0), dtype=np.float32)

    def enroll(self, name, images):
        """Adds (or extends) a person from a batch of images (embeddings when ``model`` is None)."""
        if not isinstance(name, str) or not name or name == UNKNOWN:
            raise ConfigError(f"name must be a non-empty string other than {UNKNOWN!r}. Received: name={name!r}")
        embeddings = self._embed(images)
        if embeddings.ndim != 2 or len(embeddings) == 0:
            raise ConfigError(f"enroll needs at least one image. Received: embeddings of shape {embeddings.shape}")
        if self.mode == "mean":
            if name in self.names:
                keep = self.names != name
                self.names, self.embeddings = self.names[keep], self.embeddings[keep]
                # Re-enrolling replaces the mean; pass all images together to average them.
            mean = embeddings.mean(axis=0, keepdims=True)
            embeddings = mean / max(float(np.linalg.norm(mean)), 1e-12)
        names = np.asarray([name] * len(embeddings))
        if self.embeddings is None or len(self.embeddings) == 0:
            self.names, self.embeddings = names, embeddings
        else:
            if embeddings.shape[1] != self.embeddings.shape[1]:
                raise ConfigError(
                    f"embedding size differs from the database's {self.embeddings.shape[1]}. "
                    f"Received: {embeddings.shape[1]}"
                )
            self.names = np.concatenate([self.names, names])
            self.embeddings = np.concatenate([self.embeddings, embeddings])
        return self

    def nearest(self, images):
        """``(names, distances)`` of the closest enrolled embedding to each probe."""
        probes = self._embed(images)
        if self.embeddings is None or len(self.embeddings) == 0:
            return np.asarray([UNKNOWN] * len(probes)), np.full(len(probes), np.inf)
        distances = cross_distances(probes, self.embeddings, self.distance)
        best = np.argmin(distances, axis=1)
        return self.names[best], distances[np.arange(len(probes)), best]

    def identify(self, images):
        """Name of each probe's closest person, or ``"unknown"`` beyond the threshold.

        Args:
            images: a batch of images (or embeddings when ``model`` is None).

        Returns:
            A list of names, one per probe.
        """
        names, distances = self.nearest(images)
        return [str(name) if distance <= self.threshold else UNKNOWN for name, distance in zip(names, distances)]

    def save(self, path):
        """Writes names, embeddings and settings to a ``.npz`` file (not the model)."""
        path = pathlib.Path(path)
        embeddings = self.embeddings if self.embeddings is not None else np.zeros((0, 0), np.float32)
        np.savez(
            path, names=self.names.astype(str), embeddings=embeddings, threshold=self.threshold,
            distance=self.distance, mode=self.mode,
        )
        return path

    @classmethod
    def load(cls, path, model=None):
        """Reads a database written by :meth:`save`; pass the same embedding model."""
        path = pathlib.Path(path)
        if not path.is_file():
            raise DatasetError(f"face database file not found. Received: {path}")
        try:
            with np.load(path, allow_pickle=False) as data:
                database = cls(model, float(data["threshold"]), str(data["distance"]), str(data["mode"]))
                database.names = data["names"].astype(str)
                database.embeddings = data["embeddings"].astype(np.float32) if len(data["names"]) else None
        except (KeyError, ValueError, OSError) as error:
            raise DatasetError(f"not a dlkit face database ({error}). Received: {path}") from None
        return database


def open_set_trial(model, identities, images, *, threshold, distance="squared_l2", seed=0):
    """Enrolls one image of three quarters of the identities; every other image must be named or turned away.

    The quarter never enrolled are strangers, who must come out ``"unknown"``
    (the turnstile's open set); each probe of an enrolled identity must get its
    name.

    Args:
        model: the embedding model (takes ``images`` as they are).
        identities: an :class:`~dlkit.verification.IdentitySet` (labels and names of ``images``).
        images: the images of ``identities``, in the form ``model`` takes.
        threshold: the database's accept threshold.
        distance: ``"squared_l2"``, ``"l2"`` or ``"cosine"``.
        seed: which identities are never enrolled and which image is enrolled.

    Returns:
        ``(database, metrics)``: the :class:`FaceDatabase` and ``recognition_accuracy``,
        ``known_identification_rate``, ``unknown_rejection_rate``, ``enrolled_identities``,
        ``never_enrolled_identities``.
    """
    rng = np.random.default_rng(seed)
    never_enrolled = rng.choice(identities.identities, size=max(1, len(identities.identities) // 4), replace=False)
    database = FaceDatabase(model, threshold=threshold, distance=distance)
    gallery = []
    for identity in identities.identities:
        if identity in never_enrolled:
            continue
        chosen = int(rng.choice(np.flatnonzero(identities.labels == identity)))
        gallery.append(chosen)
        database.enroll(identities.names[identity], images[chosen : chosen + 1])
    probes = np.setdiff1d(np.arange(len(identities)), gallery)
    answers = np.asarray(database.identify(images[probes]))
    truth = np.asarray(
        [UNKNOWN if label in never_enrolled else identities.names[label] for label in identities.labels[probes]]
    )
    known = truth != UNKNOWN
    return database, {
        "recognition_accuracy": float(np.mean(answers == truth)),
        "known_identification_rate": float(np.mean(answers[known] == truth[known])),
        "unknown_rejection_rate": float(np.mean(answers[~known] == UNKNOWN)),
        "enrolled_identities": len(database),
        "never_enrolled_identities": len(never_enrolled),
    }
