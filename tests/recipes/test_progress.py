"""What every training recipe's ``--tensorboard`` writes: event files holding its loss (the shared quick runs)."""

import math

import harness
import pytest
from harness import QUICK_RUNS

#: The loss each kind of training loop logs: ``fit`` through Keras's TensorBoard callback, word2vec and style
#: transfer through dlkit.progress.TensorBoardScalars.
LOSS_TAGS = ("epoch_loss", "epoch/loss", "step/total")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(QUICK_RUNS))
def test_tensorboard_event_files_hold_the_loss(recipe_run, name):
    assert "--tensorboard" in QUICK_RUNS[name][1]
    run = recipe_run(name)
    # Under the run folder: OUT/logs, or one logs folder per phase (a fine-tune) or per model (a comparison).
    scalars = harness.event_scalars(run.out)
    losses = [values for tag, values in scalars.items() if tag in LOSS_TAGS]
    assert losses, sorted(scalars)
    assert all(values and all(math.isfinite(value) for value in values) for values in losses)
