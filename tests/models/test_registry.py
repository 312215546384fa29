"""The model registry: names, None-dropping overrides, clear errors."""

import pytest

from dlkit import models
from dlkit.errors import ConfigError


def test_first_builders_are_registered():
    assert {"logistic_regression", "mlp", "lenet5"} <= set(models.names())
    assert models.names() == sorted(models.names())


def test_build_drops_none_overrides():
    model = models.build("lenet5", input_shape=None, num_classes=None, activation=None)
    assert model.input_shape == (None, 32, 32, 1) and model.output_shape == (None, 10)


def test_unknown_name_suggests_and_lists():
    with pytest.raises(ConfigError, match="Did you mean lenet5") as error:
        models.build("lenet")
    assert "mlp" in str(error.value) and "Received: model='lenet'" in str(error.value)


def test_unknown_override_lists_accepted_arguments():
    with pytest.raises(ConfigError, match="does not accept depth") as error:
        models.build("lenet5", depth=3)
    assert "num_classes" in str(error.value)


def test_register_refuses_a_second_builder_under_one_name():
    with pytest.raises(ValueError, match="already registered"):
        models.register("lenet5")(lambda: None)
