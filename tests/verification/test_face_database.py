"""FaceDatabase: identify, reject the never-enrolled, round-trip through .npz."""

import keras
import numpy as np
import pytest

from dlkit.errors import ConfigError, DatasetError
from dlkit.verification import UNKNOWN, FaceDatabase, IdentitySet, L2Normalize, open_set_trial


def people(seed=0):
    """Four people as clusters around orthogonal unit directions."""
    rng = np.random.default_rng(seed)
    centers = np.eye(4, 8)
    return {f"person {i}": centers[i] + rng.normal(0, 0.05, (5, 8)) for i in range(4)}


def test_identifies_the_enrolled_and_rejects_a_stranger():
    faces = people()
    database = FaceDatabase(threshold=0.5, distance="squared_l2")
    for name in ("person 0", "person 1", "person 2"):
        database.enroll(name, faces[name][:2])
    assert len(database) == 3
    probes = np.concatenate([faces["person 0"][2:], faces["person 2"][2:], faces["person 3"]])
    want = ["person 0"] * 3 + ["person 2"] * 3 + [UNKNOWN] * 5
    assert database.identify(probes) == want
    assert FaceDatabase().identify(faces["person 0"]) == [UNKNOWN] * 5  # empty database


def test_save_load_round_trip_with_a_model(tmp_path):
    inputs = keras.Input((8,))
    model = keras.Model(inputs, L2Normalize()(keras.layers.Dense(6)(inputs)))
    faces = people(1)
    database = FaceDatabase(model, threshold=0.3, distance="cosine", mode="all")
    for name in ("person 0", "person 1"):
        database.enroll(name, faces[name][:3])
    path = database.save(tmp_path / "faces.npz")
    loaded = FaceDatabase.load(path, model)
    np.testing.assert_array_equal(loaded.embeddings, database.embeddings)
    assert list(loaded.names) == ["person 0"] * 3 + ["person 1"] * 3
    assert (loaded.threshold, loaded.distance, loaded.mode) == (0.3, "cosine", "all")
    probes = np.concatenate([faces[name] for name in faces])
    assert loaded.identify(probes) == database.identify(probes)


def test_bad_inputs():
    with pytest.raises(ConfigError, match="Received: name='unknown'"):
        FaceDatabase().enroll(UNKNOWN, np.ones((1, 3)))
    with pytest.raises(ConfigError, match="at least one image"):
        FaceDatabase().enroll("a", np.zeros((0, 3)))
    with pytest.raises(DatasetError, match="not found"):
        FaceDatabase.load("/nonexistent/faces.npz")


@pytest.mark.parametrize("distance", ["squared_l2", "l2", "cosine"])
def test_cross_distances_equal_pairwise_loops(distance):
    from dlkit.verification import paired_distances
    from dlkit.verification.distances import cross_distances

    rng = np.random.default_rng(4)
    first, second = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    second[0] = 0.0  # a zero vector stays finite
    want = np.array([[paired_distances(a[None], b[None], distance)[0] for b in second] for a in first])
    np.testing.assert_allclose(cross_distances(first, second, distance), want, atol=1e-9)


def test_open_set_trial_names_the_enrolled_and_turns_strangers_away():
    faces = people()
    identities = IdentitySet(np.concatenate(list(faces.values())).astype("float32"), np.repeat(np.arange(4), 5),
                             list(faces))
    database, metrics = open_set_trial(None, identities, identities.images, threshold=0.5, seed=0)
    # One person of four is never enrolled; each other person has one image enrolled and four probes.
    assert metrics["enrolled_identities"] == len(database) == 3 and metrics["never_enrolled_identities"] == 1
    assert metrics["recognition_accuracy"] == metrics["known_identification_rate"] == 1.0
    assert metrics["unknown_rejection_rate"] == 1.0
    _, strict = open_set_trial(None, identities, identities.images, threshold=-1.0, seed=0)
    assert strict["known_identification_rate"] == 0.0 and strict["recognition_accuracy"] == 5 / 17
