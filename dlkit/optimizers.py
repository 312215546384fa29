"""What the course notes' optimization chapter compares and Keras does not ship: Adam without bias
correction, and the 1/sqrt(epoch) learning-rate decay.

Both are backend-agnostic (``keras.ops``) and registered, so a model compiled
with them saves and reloads after ``import dlkit``.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="dlkit")
class AdamWithoutBiasCorrection(keras.optimizers.Adam):
    """Adam with its moment estimates used as they are, without the ``1 / (1 - β^t)`` bias correction.

    The first and second moments start at zero, so early in training both are
    biased toward zero, and not equally: ``m_1 = (1 - β1) g_1`` is a tenth of the
    gradient with β1 = 0.9, ``sqrt(v_1) = sqrt(1 - β2) |g_1|`` about a thirtieth
    of its size with β2 = 0.999. Uncorrected, the first steps are therefore
    ``(1 - β1) / sqrt(1 - β2)`` ≈ 3.2 times the corrected ones, shrinking to the
    corrected size over ~1 / (1 - β2) = 1000 steps: a larger, uncontrolled
    learning rate at the start, which the correction removes so that the step
    size is set by the learning rate alone. Here to show what the correction
    does; use ``keras.optimizers.Adam`` to train.

    Reference: Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR
    2015, section 3 ("Initialization bias correction").
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="adam_without_bias_correction", **kwargs):
        kwargs.pop("amsgrad", None)
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=False,
                         name=name, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        self.assign_sub(variable, ops.divide(ops.multiply(m, rate), ops.add(ops.sqrt(v), self.epsilon)))

    def get_config(self):
        config = super().get_config()
        config.pop("amsgrad", None)
        return config


@keras.saving.register_keras_serializable(package="dlkit")
class InverseSqrtDecay(keras.optimizers.schedules.LearningRateSchedule):
    """``initial_learning_rate / sqrt(1 + k * epoch)``, constant within an epoch (the notes' ``k / sqrt(epoch)`` form).

    Args:
        initial_learning_rate: the rate of the first epoch.
        steps_per_epoch: optimizer steps per epoch.
        k: the decay per epoch.
    """

    def __init__(self, initial_learning_rate, steps_per_epoch, k):
        self.initial_learning_rate = float(initial_learning_rate)
        self.steps_per_epoch = int(steps_per_epoch)
        self.k = float(k)

    def __call__(self, step):
        epoch = ops.floor(ops.divide(ops.cast(step, "float32"), float(self.steps_per_epoch)))
        return self.initial_learning_rate / ops.sqrt(1.0 + self.k * epoch)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "steps_per_epoch": self.steps_per_epoch,
                "k": self.k}


def decay_constant(form, epochs, final_fraction):
    """The ``k`` with which ``form`` ends at ``final_fraction`` of the initial rate after ``epochs`` epochs.

    ``"inverse_time"``: ``1 / (1 + k * epochs) = final_fraction``;
    ``"inverse_sqrt"``: ``1 / sqrt(1 + k * epochs) = final_fraction``.
    """
    epochs = max(int(epochs) - 1, 1)  # the last epoch is number epochs - 1, counted from 0
    power = 1 if form == "inverse_time" else 2
    return (final_fraction ** -power - 1.0) / epochs if final_fraction < 1 else 0.0


__all__ = ["AdamWithoutBiasCorrection", "InverseSqrtDecay", "decay_constant"]
