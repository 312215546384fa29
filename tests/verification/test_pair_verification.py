"""Thresholds, 10-fold accuracy, ROC AUC, EER and TAR@FAR against brute force and scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from dlkit.errors import ConfigError
from dlkit.verification import (
    choose_threshold,
    equal_error_rate,
    evaluate_verification,
    make_pairs,
    paired_distances,
    tar_at_far,
)


def noisy_pairs(seed, count=400):
    rng = np.random.default_rng(seed)
    same = rng.random(count) < 0.5
    distances = np.where(same, rng.normal(1.0, 0.5, count), rng.normal(2.0, 0.5, count))
    return distances, same


def test_threshold_has_the_best_accuracy_of_every_possible_threshold():
    for seed in range(20):
        distances, same = noisy_pairs(seed, 60)
        threshold = choose_threshold(distances, same)
        best = max(np.mean((distances <= t) == same) for t in np.concatenate([distances, [-np.inf]]))
        assert np.mean((distances <= threshold) == same) == pytest.approx(best)


def test_threshold_for_a_target_false_accept_rate():
    distances, same = noisy_pairs(0, 2000)
    threshold = choose_threshold(distances, same, target_far=0.01)
    false_accepts = np.mean(distances[~same] <= threshold)
    assert false_accepts <= 0.01
    # The next larger distance would break the target: the threshold is as large as allowed.
    above = np.min(distances[distances > threshold])
    assert np.mean(distances[~same] <= above) > 0.01


def test_report_matches_sklearn_and_a_hand_made_fold_loop():
    distances, same = noisy_pairs(1, 600)
    report = evaluate_verification(distances, same, fold_of=np.arange(600) % 10)
    assert report["roc_auc"] == pytest.approx(roc_auc_score(same, -distances))
    accuracies = []
    for fold in range(10):
        held = np.arange(600) % 10 == fold
        train_d, train_s = distances[~held], same[~held]
        candidates = np.sort(train_d)
        scores = [np.mean((train_d <= t) == train_s) for t in candidates]
        # Any threshold between the chosen distance and the next one gives the same training accuracy.
        t = candidates[int(np.argmax(scores))]
        nxt = candidates[int(np.argmax(scores)) + 1]
        accuracies.append(np.mean((distances[held] <= (t + nxt) / 2) == same[held]))
    assert report["accuracy"] == pytest.approx(np.mean(accuracies))
    # Two Gaussians one unit apart with sigma 0.5: the best accuracy is Phi(1) ~ 0.84.
    assert 0.78 < report["accuracy"] < 0.9 and 0.1 < report["eer"] < 0.22
    default = evaluate_verification(distances, same)
    assert default["pairs"] == 600 and abs(default["accuracy"] - report["accuracy"]) < 0.03


def test_separable_and_random_pairs():
    same = np.array([True] * 50 + [False] * 50)
    perfect = np.where(same, 0.1, 1.0) + np.linspace(0, 0.01, 100)
    report = evaluate_verification(perfect, same)
    assert report["accuracy"] == 1.0 and report["roc_auc"] == 1.0 and report["eer"] == 0.0
    assert report["tar_at_far_1e-3"] == 1.0
    rng = np.random.default_rng(0)
    noise = rng.random(20000)
    random_same = rng.random(20000) < 0.5
    assert equal_error_rate(noise, random_same) == pytest.approx(0.5, abs=0.02)
    assert tar_at_far(noise, random_same, 1e-3) < 0.01


def test_pairs_are_balanced_and_correctly_labelled():
    labels = np.repeat(np.arange(5), 7)
    first, second, same = make_pairs(labels, 1000, seed=0)
    assert same.sum() == 500 and np.array_equal(same, labels[first] == labels[second])
    assert np.all(first != second)
    embeddings = np.random.default_rng(0).normal(size=(35, 3))
    distances = paired_distances(embeddings[first[:5]], embeddings[second[:5]], "l2")
    np.testing.assert_allclose(distances, np.linalg.norm(embeddings[first[:5]] - embeddings[second[:5]], axis=1))


def test_degenerate_inputs_raise_config_errors():
    with pytest.raises(ConfigError, match="Received: 3 same of 3"):
        evaluate_verification([0.1, 0.2, 0.3], [True, True, True])
    with pytest.raises(ConfigError, match="non-finite"):
        choose_threshold([0.1, np.nan], [True, False])
    with pytest.raises(ConfigError, match="Received: 1 identities"):
        make_pairs(np.zeros(5), 10)
