"""Every user mistake named in issue 16, one row each: exit status 2, one ``error:`` line, and caught before training.

Each row runs the recipe's ``main`` in this process through ``cli.run`` (what the script's entry point does), then
checks stderr, the exit status and the run folder: a mistake in a flag or an input leaves no history (nothing
trained); a run that diverged leaves no metrics.json (nothing pretends it finished).
"""

import pathlib

import harness
import numpy as np
import pytest
from PIL import Image

from dlkit import cli

TRAINING_RECIPES = ["classify", "transfer_learning", "multitask", "yolo_detection", "face_verification",
                    "style_transfer", "word2vec", "tune", "optimize"]


def assert_nothing_trained(out):
    out = pathlib.Path(out)
    assert not (out / "metrics.json").exists()
    assert not list(out.rglob("history.csv")), "training started before the mistake was found"


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("user_images")
    one_class = folder / "one_class" / "cats"
    one_class.mkdir(parents=True)
    for index in range(8):
        Image.fromarray(np.full((12, 12, 3), 30 * index, np.uint8)).save(one_class / f"{index}.png")
    huge = folder / "huge.png"
    Image.new("1", (14000, 14000)).save(huge)  # 196 megapixels, a few kilobytes on disk
    words = folder / "four_words.txt"
    words.write_text("\n".join("the cat sat down " * 10 for _ in range(30)))
    return {"one_class": str(folder / "one_class"), "huge": str(huge), "four_words": str(words)}


@pytest.mark.parametrize("recipe", TRAINING_RECIPES)
def test_out_that_is_a_file_or_cannot_be_written(recipe, tmp_path, capsys):
    existing = tmp_path / "a_file"
    existing.write_text("not a folder")
    harness.assert_user_error(capsys, recipe, ["--quick", "--out", str(existing)], "--out must be a folder")
    harness.assert_user_error(capsys, recipe, ["--quick", "--out", str(existing / "run")], "Cannot write into --out")
    # Nothing can be created under /proc, whoever runs the tests (a read-only folder does not stop root).
    harness.assert_user_error(capsys, recipe, ["--quick", "--out", "/proc/dlkit-test-run"], "Cannot write into --out")


CASES = {
    # A flag whose 0 used to mean "the default" (args.x or default), or out of range.
    "classify --image-size 0": ("classify", ["--image-size", "0"], "argument --image-size: must be >= 1"),
    "classify --image-size 100000": ("classify", ["--image-size", "100000"], "must be <= 4096 pixels"),
    "multitask --train-images 0": ("multitask", ["--train-images", "0"], "argument --train-images: must be >= 1"),
    "multitask --image-size 100000": ("multitask", ["--image-size", "100000"], "must be <= 4096 pixels"),
    "yolo --test-images 0": ("yolo_detection", ["--test-images", "0"], "argument --test-images: must be >= 1"),
    "yolo --iou-threshold 2": ("yolo_detection", ["--iou-threshold", "2"], "argument --iou-threshold: must be in"),
    "yolo --image-size 100000": ("yolo_detection", ["--image-size", "100000"], "must be <= 4096 pixels"),
    "yolo --dataset /nonexistent/voc": ("yolo_detection", ["--dataset", "/nonexistent/voc"],
                                        "--dataset takes 'shapes' or a TFDS detection set"),
    "transfer --shots 1000": ("transfer_learning", ["--quick", "--shots", "1000"], "--shots must be at most"),
    "transfer --fine-tune-fraction 2": ("transfer_learning", ["--fine-tune-fraction", "2"],
                                        "argument --fine-tune-fraction: must be in [0, 1]"),
    "transfer --image-size 100000": ("transfer_learning", ["--dataset", "x", "--image-size", "100000"],
                                     "must be <= 4096 pixels"),
    "face --images-per-identity 200": ("face_verification", ["--images-per-identity", "200"],
                                       "more than online mining can hold"),
    "face --image-size 100000": ("face_verification", ["--image-size", "100000"], "must be <= 4096 pixels"),
    "style --size 1": ("style_transfer", ["--size", "1"], "--size must be at least 32"),
    "style --size 0": ("style_transfer", ["--size", "0"], "argument --size: must be >= 1"),
    "style --steps 0": ("style_transfer", ["--steps", "0"], "argument --steps: must be >= 1"),
    "style, the content as style": ("style_transfer", ["--style", "CHELSEA"], "The style image is the content image"),
    "style, a 14000x14000 image": ("style_transfer", ["--style", "HUGE"], "too large to read safely"),
    "word2vec, a four-word vocabulary": ("word2vec", ["--corpus", "FOUR_WORDS"], "Only 4 distinct word(s)"),
    "classify, a one-class folder": ("classify", ["--dataset", "ONE_CLASS", "--image-size", "12"],
                                     "at least two classes"),
    "an unknown choice": ("multitask", ["--task", "segmentation"], "argument --task: invalid choice"),
    "classify --train-dev-from fog": ("classify", ["--train-dev-from", "fog"], "argument --train-dev-from: invalid"),
    "tune --rounds 0": ("tune", ["--rounds", "0"], "argument --rounds: must be >= 1"),
    "tune, an unknown model": ("tune", ["--model", "lenet6"], "Unknown model"),
    "optimize --target 2": ("optimize", ["--target", "2"], "argument --target: must be in [0, 1]"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_user_mistakes_exit_2_with_one_line_before_training(case, images, tmp_path, capsys):
    recipe, argv, expected = CASES[case]
    import skimage

    chelsea = str(pathlib.Path(skimage.__file__).parent / "data" / "chelsea.png")
    replace = {"ONE_CLASS": images["one_class"], "HUGE": images["huge"], "FOUR_WORDS": images["four_words"],
               "CHELSEA": chelsea}
    argv = [replace.get(value, value) for value in argv]
    out = tmp_path / "run"
    harness.assert_user_error(capsys, recipe, [*argv, "--out", out], expected)
    assert_nothing_trained(out)


DIVERGED = {
    # Adam at a million: huge finite losses, which used to end as a "successful" run at accuracy 0.38.
    "classify --learning-rate 1e6": ("classify", ["--quick", "--epochs", "2", "--learning-rate", "1e6"],
                                     "Training diverged: the loss rose to"),
    # Infinite style loss: final_loss used to be reported as None.
    "style --style-weight 1e38": ("style_transfer", ["--quick", "--steps", "3", "--size", "48",
                                                     "--style-weight", "1e38"], "Style transfer diverged"),
}


@pytest.mark.parametrize("case", list(DIVERGED))
def test_a_diverged_run_exits_2_without_metrics(case, tmp_path, capsys):
    recipe, argv, expected = DIVERGED[case]
    out = tmp_path / "run"
    harness.assert_user_error(capsys, recipe, [*argv, "--out", out], expected)
    assert not (out / "metrics.json").exists()


@pytest.mark.slow
def test_a_collapsed_face_embedding_exits_2_and_keeps_its_backup(tmp_path, capsys):
    # Learning rate 1e6 maps every face to one point; the t-SNE picture used to segfault on it (exit 139).
    out = tmp_path / "run"
    argv = ["--quick", "--epochs", "2", "--steps-per-epoch", "3", "--learning-rate", "1e6", "--out", str(out)]
    harness.assert_user_error(capsys, "face_verification", argv, "The embedding collapsed")
    assert not (out / "metrics.json").exists()
    assert (out / "training" / "backup" / "state.json").exists()  # rerun with a lower rate needs a new --out


def test_resuming_with_other_flags_is_refused_before_anything_runs(tmp_path, capsys):
    import classify

    # What a killed classify run leaves: its flags (config.json) and a phase backup.
    out = tmp_path / "run"
    cli.start_run(classify.parse_args(["--quick", "--out", str(out)]), "classify")
    (out / "backup").mkdir()
    (out / "backup" / "state.json").write_text('{"epoch": 3, "weights": "epoch_0003.weights.h5", "settings": {}}')
    line = harness.assert_user_error(capsys, classify, ["--quick", "--learning-rate", "0.01", "--out", out],
                                     "holds an interrupted run started with --learning-rate 0.002")
    assert line.endswith("Received: --learning-rate 0.01")
    assert_nothing_trained(out)
