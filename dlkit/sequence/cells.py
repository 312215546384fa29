"""The course notes' recurrent cells, written with ``keras.ops``, for ``keras.layers.RNN``.

Each cell is one time step: ``cell(x<t>, [states<t-1>]) -> (a<t>, [states<t>])``.
Wrap it in ``keras.layers.RNN`` to run it over a sequence (masks, ``return_sequences``,
``go_backwards`` and ``Bidirectional`` all come from the wrapper)::

    layer = keras.layers.RNN(GRUCell(64, reset_after=False), return_sequences=True)

The weights carry the gates' names, so a trained cell reads like the notes
(``cell.update_kernel``, ``cell.forget_bias``). Each gate's matrix of the notes,
``W_u`` acting on the concatenation ``[c<t-1>, x<t>]``, is stored as two blocks:
``update_kernel`` (acting on ``x<t>``, shape ``(input_dim, units)``) and
``update_recurrent_kernel`` (acting on ``c<t-1>``, shape ``(units, units)``);
``W_u [c<t-1>, x<t>] = c<t-1> @ update_recurrent_kernel + x<t> @ update_kernel``.

The recipes train with Keras's own ``SimpleRNN``/``GRU``/``LSTM`` (they use cuDNN
on a GPU); these cells are the readable version of the same arithmetic.
:func:`transplant` copies a trained Keras layer's weights into them, and the
tests check that both give the same outputs.
"""

import keras
import numpy as np
from keras import ops

from dlkit.errors import ConfigError


def _recurrent_cell(layer_or_cell):
    """The cell inside ``keras.layers.RNN`` (or its subclasses), or the object itself."""
    if isinstance(layer_or_cell, keras.layers.RNN):
        return layer_or_cell.cell
    return layer_or_cell


class _GatedCell(keras.layers.Layer):
    """Shared plumbing: weights named ``<gate>_kernel``, ``<gate>_recurrent_kernel``, ``<gate>_bias``."""

    def __init__(self, units, kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units < 1:
            raise ConfigError(f"units must be an integer >= 1. Received: units={units!r}")
        self.units = units
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def _add_gate(self, gate, input_dim, bias_initializer=None):
        kernel = self.add_weight(shape=(input_dim, self.units), initializer=self.kernel_initializer,
                                 name=f"{gate}_kernel")
        recurrent = self.add_weight(shape=(self.units, self.units), initializer=self.recurrent_initializer,
                                    name=f"{gate}_recurrent_kernel")
        bias = self.add_weight(shape=(self.units,), initializer=bias_initializer or self.bias_initializer,
                               name=f"{gate}_bias")
        setattr(self, f"{gate}_kernel", kernel)
        setattr(self, f"{gate}_recurrent_kernel", recurrent)
        setattr(self, f"{gate}_bias", bias)

    def _gate_input(self, gate, inputs, previous):
        """``W_gate [previous, inputs] + b_gate``."""
        return (ops.matmul(inputs, getattr(self, f"{gate}_kernel"))
                + ops.matmul(previous, getattr(self, f"{gate}_recurrent_kernel"))
                + getattr(self, f"{gate}_bias"))

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in sizes]

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        })
        return config

    @classmethod
    def from_keras(cls, keras_layer_or_cell, **kwargs):
        """A new cell of this class holding a built Keras layer's (or cell's) weights.

        Args:
            keras_layer_or_cell: a built ``keras.layers.SimpleRNN``/``GRU``/``LSTM``
                or their cells, of the kind matching this class.
            **kwargs: other constructor arguments (e.g. ``name``).

        Returns:
            The built cell, with the weights copied by :func:`transplant`.
        """
        source = _recurrent_cell(keras_layer_or_cell)
        if not hasattr(source, "units"):
            raise ConfigError(f"Expected a Keras SimpleRNN, GRU or LSTM layer or cell. "
                              f"Received: {type(keras_layer_or_cell).__name__}")
        cell = cls(source.units, **cls._keras_options(source), **kwargs)
        return transplant(keras_layer_or_cell, cell)

    @classmethod
    def _keras_options(cls, source):
        return {}


@keras.saving.register_keras_serializable(package="dlkit")
class SimpleRNNCell(_GatedCell):
    """The basic recurrent unit: ``a<t> = g(W_aa a<t-1> + W_ax x<t> + b_a)``.

    Weights: ``kernel`` (``W_ax``, shape ``(input_dim, units)``), ``recurrent_kernel``
    (``W_aa``, ``(units, units)``) and ``bias`` (``b_a``), the names and layout of
    ``keras.layers.SimpleRNNCell``. The output is the state, ``a<t>``.

    Reference:
        J. L. Elman, "Finding Structure in Time", Cognitive Science 14, 1990.

    Args:
        units: size of the state ``a<t>``.
        activation: ``g``, a Keras activation name or function (the notes: ``"tanh"``).
        kernel_initializer, recurrent_initializer, bias_initializer: Keras
            initializers (defaults as in Keras: Glorot uniform, orthogonal, zeros).
        **kwargs: ``keras.layers.Layer`` arguments (``name``, ``dtype``).
    """

    def __init__(self, units, activation="tanh", **kwargs):
        super().__init__(units, **kwargs)
        self.activation = keras.activations.get(activation)
        self.state_size = units
        self.output_size = units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        self.kernel = self.add_weight(shape=(input_dim, self.units), initializer=self.kernel_initializer,
                                      name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                initializer=self.recurrent_initializer, name="recurrent_kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer, name="bias")
        self.built = True

    def call(self, inputs, states, training=False):
        previous = states[0] if isinstance(states, (list, tuple)) else states
        output = self.activation(ops.matmul(previous, self.recurrent_kernel) + ops.matmul(inputs, self.kernel)
                                 + self.bias)
        return output, [output] if isinstance(states, (list, tuple)) else output

    def get_config(self):
        config = super().get_config()
        config["activation"] = keras.activations.serialize(self.activation)
        return config

    @classmethod
    def _keras_options(cls, source):
        return {"activation": keras.activations.serialize(source.activation)}


@keras.saving.register_keras_serializable(package="dlkit")
class GRUCell(_GatedCell):
    """Gated recurrent unit, in the notes' notation (the memory cell ``c<t>`` is the output ``a<t>``).

    ::

        Γu = σ(W_u [c<t-1>, x<t>] + b_u)                  update gate
        Γr = σ(W_r [c<t-1>, x<t>] + b_r)                  relevance (reset) gate
        c̃  = tanh(W_c [Γr * c<t-1>, x<t>] + b_c)          reset_after=False (the paper, the notes)
        c̃  = tanh(W_cx x<t> + b_c + Γr * (W_cc c<t-1> + b_cc))   reset_after=True (cuDNN, Keras's default)
        c<t> = Γu * c̃ + (1 - Γu) * c<t-1>

    Weights: ``update_kernel``, ``update_recurrent_kernel``, ``update_bias``; the
    same for ``reset_`` and ``candidate_``; and, with ``reset_after=True``,
    ``candidate_recurrent_bias`` (``b_cc``, the bias inside the reset product).

    How Keras's ``GRU`` maps to it: Keras's kernel columns are ``[z | r | h]``
    and Keras writes ``h = z * h_prev + (1 - z) * h̃``, so its ``z`` is the
    notes' ``1 - Γu`` ("keep" rather than "update"). Since ``1 - σ(s) = σ(-s)``,
    ``update_* = -z_*``; ``reset_* = r_*``; ``candidate_* = h_*``. With
    ``reset_after=True`` Keras keeps two biases (input and recurrent); those of
    ``z`` and ``r`` just add up, that of ``h`` is ``candidate_recurrent_bias``.

    References:
        K. Cho, B. van Merriënboer, C. Gulcehre, D. Bahdanau, F. Bougares,
        H. Schwenk, Y. Bengio, "Learning Phrase Representations using RNN
        Encoder-Decoder for Statistical Machine Translation", EMNLP 2014;
        J. Chung, C. Gulcehre, K. Cho, Y. Bengio, "Empirical Evaluation of Gated
        Recurrent Neural Networks on Sequence Modeling", 2014.

    Args:
        units: size of the memory cell ``c<t>``.
        reset_after: where the reset gate acts (see above). ``True`` matches
            Keras's default ``GRU`` (and cuDNN); ``False`` the paper and the notes.
        kernel_initializer, recurrent_initializer, bias_initializer: Keras initializers.
        **kwargs: ``keras.layers.Layer`` arguments (``name``, ``dtype``).
    """

    def __init__(self, units, reset_after=True, **kwargs):
        super().__init__(units, **kwargs)
        self.reset_after = bool(reset_after)
        self.state_size = units
        self.output_size = units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        for gate in ("update", "reset", "candidate"):
            self._add_gate(gate, input_dim)
        if self.reset_after:
            self.candidate_recurrent_bias = self.add_weight(
                shape=(self.units,), initializer=self.bias_initializer, name="candidate_recurrent_bias")
        self.built = True

    def call(self, inputs, states, training=False):
        previous = states[0] if isinstance(states, (list, tuple)) else states
        update = ops.sigmoid(self._gate_input("update", inputs, previous))
        reset = ops.sigmoid(self._gate_input("reset", inputs, previous))
        if self.reset_after:
            recurrent = ops.matmul(previous, self.candidate_recurrent_kernel) + self.candidate_recurrent_bias
            candidate = ops.tanh(ops.matmul(inputs, self.candidate_kernel) + self.candidate_bias + reset * recurrent)
        else:
            candidate = ops.tanh(self._gate_input("candidate", inputs, reset * previous))
        memory = update * candidate + (1.0 - update) * previous
        return memory, [memory] if isinstance(states, (list, tuple)) else memory

    def get_config(self):
        config = super().get_config()
        config["reset_after"] = self.reset_after
        return config

    @classmethod
    def _keras_options(cls, source):
        return {"reset_after": bool(source.reset_after)}


@keras.saving.register_keras_serializable(package="dlkit")
class LSTMCell(_GatedCell):
    """Long short-term memory, in the notes' notation. States: ``[a<t>, c<t>]``; output ``a<t>``.

    ::

        Γf = σ(W_f [a<t-1>, x<t>] + b_f)        forget gate
        Γu = σ(W_u [a<t-1>, x<t>] + b_u)        update (input) gate
        Γo = σ(W_o [a<t-1>, x<t>] + b_o)        output gate
        c̃  = tanh(W_c [a<t-1>, x<t>] + b_c)     candidate
        c<t> = Γu * c̃ + Γf * c<t-1>
        a<t> = Γo * tanh(c<t>)

    Weights: ``forget_kernel``, ``forget_recurrent_kernel``, ``forget_bias`` and the
    same for ``update_``, ``output_`` and ``candidate_``. Keras's ``LSTM`` stores
    the four blocks side by side in the column order ``[i | f | c | o]``:
    ``i`` is ``update``, ``f`` ``forget``, ``c`` ``candidate``, ``o`` ``output``;
    its states are ``[h, c]`` like ours.

    References:
        S. Hochreiter, J. Schmidhuber, "Long Short-Term Memory", Neural
        Computation 9(8), 1997; F. A. Gers, J. Schmidhuber, F. Cummins,
        "Learning to Forget: Continual Prediction with LSTM", Neural Computation
        12(10), 2000; the forget bias of one: R. Jozefowicz, W. Zaremba,
        I. Sutskever, "An Empirical Exploration of Recurrent Network
        Architectures", ICML 2015.

    Args:
        units: size of ``a<t>`` and ``c<t>``.
        unit_forget_bias: start ``b_f`` at one (remember by default), as Keras does.
        kernel_initializer, recurrent_initializer, bias_initializer: Keras initializers.
        **kwargs: ``keras.layers.Layer`` arguments (``name``, ``dtype``).
    """

    def __init__(self, units, unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        self._add_gate("forget", input_dim, bias_initializer="ones" if self.unit_forget_bias else None)
        for gate in ("update", "output", "candidate"):
            self._add_gate(gate, input_dim)
        self.built = True

    def call(self, inputs, states, training=False):
        previous_output, previous_memory = states[0], states[1]
        forget = ops.sigmoid(self._gate_input("forget", inputs, previous_output))
        update = ops.sigmoid(self._gate_input("update", inputs, previous_output))
        output_gate = ops.sigmoid(self._gate_input("output", inputs, previous_output))
        candidate = ops.tanh(self._gate_input("candidate", inputs, previous_output))
        memory = update * candidate + forget * previous_memory
        output = output_gate * ops.tanh(memory)
        return output, [output, memory]

    def get_config(self):
        config = super().get_config()
        config["unit_forget_bias"] = self.unit_forget_bias
        return config


#: dlkit cell class -> the Keras cell class whose weights it can take.
_KERAS_CELLS = {
    SimpleRNNCell: keras.layers.SimpleRNNCell,
    GRUCell: keras.layers.GRUCell,
    LSTMCell: keras.layers.LSTMCell,
}


def _check_activations(source, activation="tanh"):
    found = (keras.activations.serialize(source.activation),
             keras.activations.serialize(getattr(source, "recurrent_activation", keras.activations.sigmoid)))
    if found != (activation, "sigmoid"):
        raise ConfigError(
            f"the dlkit cells use activation={activation!r} and recurrent_activation='sigmoid'. "
            f"Received: activation={found[0]!r}, recurrent_activation={found[1]!r}"
        )


def _split_columns(matrix, parts):
    width = matrix.shape[-1] // parts
    return [matrix[..., i * width:(i + 1) * width] for i in range(parts)]


def transplant(keras_layer_or_cell, dlkit_cell):
    """Copies a built Keras recurrent layer's weights into the matching dlkit cell.

    After it, ``keras.layers.RNN(dlkit_cell)`` computes what the Keras layer
    computes (same outputs and states, masks included). Keras's kernels hold
    the gates side by side: ``GRU`` columns ``[z | r | h]``, ``LSTM`` columns
    ``[i | f | c | o]``; see :class:`GRUCell` and :class:`LSTMCell` for how they map.

    Args:
        keras_layer_or_cell: a built ``keras.layers.SimpleRNN``, ``GRU`` or
            ``LSTM`` (or its cell), with the default activations.
        dlkit_cell: a :class:`SimpleRNNCell`, :class:`GRUCell` or
            :class:`LSTMCell` (or a ``keras.layers.RNN`` wrapping one) with the
            same ``units`` (and, for GRU, the same ``reset_after``); built here
            if it is not yet.

    Returns:
        The dlkit cell.

    Raises:
        ConfigError: the kinds, sizes, activations or reset forms do not match,
            or the Keras layer is not built.
    """
    source, target = _recurrent_cell(keras_layer_or_cell), _recurrent_cell(dlkit_cell)
    expected = _KERAS_CELLS.get(type(target))
    if expected is None:
        raise ConfigError(f"dlkit_cell must be a dlkit SimpleRNNCell, GRUCell or LSTMCell. "
                          f"Received: {type(dlkit_cell).__name__}")
    if not isinstance(source, expected):
        raise ConfigError(f"A {type(target).__name__} takes the weights of a Keras {expected.__name__}. "
                          f"Received: {type(keras_layer_or_cell).__name__}")
    if not source.built:
        raise ConfigError(f"Build the Keras layer (call it once) before transplanting its weights. "
                          f"Received: an unbuilt {type(keras_layer_or_cell).__name__}")
    if source.units != target.units:
        raise ConfigError(f"units must match. Received: Keras units={source.units}, dlkit units={target.units}")
    kernel = ops.convert_to_numpy(source.kernel)
    recurrent = ops.convert_to_numpy(source.recurrent_kernel)
    input_dim = kernel.shape[0]
    if not target.built:
        target.build((None, input_dim))
    target_dim = (target.kernel if isinstance(target, SimpleRNNCell) else target.update_kernel).shape[0]
    if target_dim != input_dim:
        raise ConfigError(f"input sizes must match. Received: Keras input_dim={input_dim}, "
                          f"dlkit input_dim={target_dim}")
    units = target.units
    # Keras's use_bias=False is a bias of zeros here.
    if source.use_bias:
        bias = ops.convert_to_numpy(source.bias)
    else:
        gates = {SimpleRNNCell: 1, GRUCell: 3, LSTMCell: 4}[type(target)]
        bias = np.zeros((2, gates * units) if getattr(source, "reset_after", False) else (gates * units,),
                        np.float32)

    if isinstance(target, SimpleRNNCell):
        activation = keras.activations.serialize(target.activation)
        if keras.activations.serialize(source.activation) != activation:
            raise ConfigError(f"activations must match. Received: Keras "
                              f"activation={keras.activations.serialize(source.activation)!r}, "
                              f"dlkit activation={activation!r}")
        target.kernel.assign(kernel)
        target.recurrent_kernel.assign(recurrent)
        target.bias.assign(bias)
        return target

    _check_activations(source)
    if isinstance(target, GRUCell):
        if bool(source.reset_after) != target.reset_after:
            raise ConfigError(f"reset_after must match. Received: Keras reset_after={source.reset_after}, "
                              f"dlkit reset_after={target.reset_after}")
        if source.reset_after:
            input_bias, recurrent_bias = bias[0], bias[1]
        else:
            input_bias, recurrent_bias = bias, np.zeros_like(bias)
        kernels = dict(zip(("update", "reset", "candidate"), _split_columns(kernel, 3)))
        recurrents = dict(zip(("update", "reset", "candidate"), _split_columns(recurrent, 3)))
        input_biases = dict(zip(("update", "reset", "candidate"), _split_columns(input_bias, 3)))
        recurrent_biases = dict(zip(("update", "reset", "candidate"), _split_columns(recurrent_bias, 3)))
        # Keras's z keeps the old state; the notes' update gate is 1 - z = sigmoid(-(its pre-activation)).
        sign = {"update": -1.0, "reset": 1.0}
        for gate in ("update", "reset"):
            getattr(target, f"{gate}_kernel").assign(sign[gate] * kernels[gate])
            getattr(target, f"{gate}_recurrent_kernel").assign(sign[gate] * recurrents[gate])
            getattr(target, f"{gate}_bias").assign(sign[gate] * (input_biases[gate] + recurrent_biases[gate]))
        target.candidate_kernel.assign(kernels["candidate"])
        target.candidate_recurrent_kernel.assign(recurrents["candidate"])
        target.candidate_bias.assign(input_biases["candidate"])
        if target.reset_after:
            target.candidate_recurrent_bias.assign(recurrent_biases["candidate"])
        return target

    gates = ("update", "forget", "candidate", "output")  # Keras's i, f, c, o
    for gate, block, recurrent_block, bias_block in zip(gates, _split_columns(kernel, 4),
                                                        _split_columns(recurrent, 4), _split_columns(bias, 4)):
        getattr(target, f"{gate}_kernel").assign(block)
        getattr(target, f"{gate}_recurrent_kernel").assign(recurrent_block)
        getattr(target, f"{gate}_bias").assign(bias_block)
    return target
