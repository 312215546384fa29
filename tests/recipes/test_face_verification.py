"""recipes/face_verification.py: the --quick run on unseen digits, its files, and user errors."""

import json
import pathlib
import sys

import keras
import numpy as np
import pytest

RECIPES = pathlib.Path(__file__).resolve().parents[2] / "recipes"
sys.path.insert(0, str(RECIPES))

import face_verification  # noqa: E402


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("face_verification")
    metrics = face_verification.main(["--quick", "--siamese", "--out", str(out)])
    return out, metrics


@pytest.mark.slow
def test_quick_run_verifies_unseen_identities(quick_run):
    out, metrics = quick_run
    assert metrics["unseen_identities"] == 4 and metrics["training_identities"] == 6 * 7
    # Issue 7 targets 0.85 / 0.92 here. Measured: 0.846-0.854 / 0.918-0.927 over --seed 0, 1, 2, and 0.8497 /
    # 0.922 for seed 0 on this project's machines in 2026-12, so the target is NOT reliably met (see
    # docs/verification.md); these bounds catch a broken pipeline (a collapsed embedding gives ~0.5 / ~0.5).
    assert metrics["verification_accuracy"] >= 0.83
    assert metrics["roc_auc"] >= 0.90
    assert 0 < metrics["eer"] < 0.2
    # Training made triplets easy but the embedding did not collapse.
    assert metrics["active_triplet_fraction"] < 0.3 and metrics["negative_distance"] > metrics["positive_distance"]
    assert metrics["recognition_accuracy"] > 0.6 and metrics["unknown_rejection_rate"] > 0.3
    assert metrics["siamese_verification_accuracy"] > 0.55
    assert json.loads((out / "metrics.json").read_text()) == metrics


def test_quick_run_writes_its_files(quick_run):
    out, _ = quick_run
    for name in ("config.json", "metrics.json", "model.keras", "siamese.keras", "database.npz", "roc.png",
                 "embeddings_tsne.png", "pairs.png"):
        assert (out / name).stat().st_size > 0, name
    assert json.loads((out / "config.json").read_text())["mining"] == "semi_hard"


def test_saved_models_predict_like_the_evaluated_ones(quick_run):
    out, metrics = quick_run
    from dlkit import verification

    seen, unseen = face_verification.load_split(face_verification.parse(["--quick"]))
    model = keras.models.load_model(out / "model.keras")
    embeddings = model.predict(unseen.images, verbose=0)
    first, second, same = verification.make_pairs(unseen.labels, 3000, seed=0)
    report = verification.evaluate_verification(verification.pair_distances(embeddings, first, second), same)
    assert report["accuracy"] == pytest.approx(metrics["verification_accuracy"], abs=1e-9)
    siamese = keras.models.load_model(out / "siamese.keras")
    pairs = {"first": unseen.images[first[:64]], "second": unseen.images[second[:64]]}
    assert np.all(np.isfinite(siamese.predict(pairs, verbose=0)))
    # The saved database answers with the model's embeddings as the recipe's did.
    database = verification.FaceDatabase.load(out / "database.npz", model)
    assert len(database) == metrics["enrolled_identities"] == 3
    assert database.threshold == pytest.approx(metrics["threshold"])


@pytest.mark.parametrize(
    "argv, expected",
    [(["--unseen", "9"], "num_unseen"), (["--margin", "-1"], "--margin"), (["--dim", "0"], "--dim")],
)
def test_user_errors_exit_2_with_one_line(argv, expected, tmp_path, capsys):
    status = face_verification.cli_main([*argv, "--out", str(tmp_path)])
    error = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(error) == 1 and error[0].startswith("error: ") and expected in error[0]
