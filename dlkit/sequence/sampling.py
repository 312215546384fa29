"""Generating from a recurrent language model by carrying its states, one cell step per token.

keras.io's character-LSTM example generates by calling ``model.predict`` on the
whole re-encoded window for every new character: ``O(length * window)`` cell
steps and one Python round trip per token. :class:`Stepper` runs the prompt
through the recurrent layers once (keeping their final states), then advances
each layer's own ``cell`` by one step per token with the carried states;
:func:`sample` does the whole generation in one compiled loop (a
``tf.function`` around ``keras.ops.fori_loop``) with stateless random draws, so a
seed reproduces the ids::

    ids = sample(model, vocabulary.encode("the "), length=200, temperature=0.8, seed=1)
    print(vocabulary.decode(ids))

:func:`window_sample` is the slow reference that re-feeds the growing sequence
for every token; with the same seed it draws the same ids.

What a model may hold, in this order: an ``Embedding``; any number of
recurrent layers (``keras.layers.SimpleRNN``/``GRU``/``LSTM``, or
``keras.layers.RNN`` around one cell such as :class:`dlkit.sequence.GRUCell`)
with ``return_sequences=True``; ``Dropout`` layers (inactive when generating);
and a last ``Dense`` with a ``softmax`` (probabilities) or no activation
(logits). The builders of :mod:`dlkit.sequence.models` make such models. The
chain is read from ``model.layers``; a model with branches is not supported.

Sampling draws ``argmax(logits / temperature + g)`` with ``g`` Gumbel noise
from ``tf.random.stateless_uniform`` seeded by ``(seed, step)``: a draw from
``softmax(logits / temperature)`` (the Gumbel-max trick). ``temperature=0`` is
greedy ``argmax`` decoding; ``top_k`` keeps only the ``k`` most likely tokens
(ties with the ``k``-th are kept too).
"""

import random
import weakref

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from dlkit.errors import ConfigError


def _check_arguments(length, temperature, top_k):
    if not isinstance(length, (int, np.integer)) or isinstance(length, bool) or length < 1:
        raise ConfigError(f"length must be an integer >= 1. Received: length={length!r}")
    if not isinstance(temperature, (int, float, np.number)) or not temperature >= 0:
        raise ConfigError(f"temperature must be a number >= 0 (0: greedy). Received: temperature={temperature!r}")
    if top_k is not None and (not isinstance(top_k, (int, np.integer)) or isinstance(top_k, bool) or top_k < 1):
        raise ConfigError(f"top_k must be None or an integer >= 1. Received: top_k={top_k!r}")


def _check_prompt(prompt, vocabulary_size, padding_is_masked):
    ids = np.asarray(prompt)
    if ids.ndim != 1 or ids.size == 0:
        raise ConfigError(f"prompt must be a non-empty sequence of token ids. Received: prompt={prompt!r}")
    if not np.issubdtype(ids.dtype, np.integer):
        raise ConfigError(f"prompt must hold integer token ids. Received: prompt of dtype {ids.dtype}")
    low = 1 if padding_is_masked else 0
    if ids.min() < low or ids.max() >= vocabulary_size:
        note = " (0 is masked padding in this model)" if padding_is_masked else ""
        raise ConfigError(f"prompt ids must be in [{low}, {vocabulary_size}){note}. "
                          f"Received: ids from {ids.min()} to {ids.max()}")
    return ids.astype(np.int32)


def _draw_seed(seed):
    if seed is None:
        # Python's generator: keras.utils.set_random_seed makes it reproducible too.
        return random.randrange(2 ** 31)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ConfigError(f"seed must be None or an integer. Received: seed={seed!r}")
    return int(seed) % (2 ** 31)


def choose(logits, temperature, top_k, seed, step):
    """Picks the next token from ``logits`` ``(batch, vocabulary)``: greedy, or a seeded draw.

    Args:
        logits: float ``(batch, vocabulary)``; log-probabilities work as well.
        temperature: float scalar tensor; ``0`` gives ``argmax``.
        top_k: int scalar tensor, the number of most likely tokens kept
            (the vocabulary size keeps all).
        seed: int scalar tensor.
        step: int scalar tensor; the draw of step ``t`` is seeded by ``(seed, t)``.

    Returns:
        int32 ``(batch,)`` token ids.
    """
    logits = ops.cast(logits, "float32")
    greedy = ops.cast(ops.argmax(logits, axis=-1), "int32")
    safe_temperature = ops.where(temperature > 0, temperature, 1.0)
    scaled = (logits - ops.max(logits, axis=-1, keepdims=True)) / safe_temperature
    vocabulary = ops.shape(scaled)[-1]
    kth = ops.take(ops.sort(scaled, axis=-1), vocabulary - ops.minimum(top_k, vocabulary), axis=-1)
    scaled = ops.where(scaled >= kth[..., None], scaled, -np.inf)
    uniform = tf.random.stateless_uniform(ops.shape(scaled), seed=ops.stack([seed, step]),
                                          minval=np.finfo(np.float32).tiny, maxval=1.0)
    drawn = ops.cast(ops.argmax(scaled - ops.log(-ops.log(uniform)), axis=-1), "int32")
    return ops.where(temperature > 0, drawn, greedy)


class Stepper:
    """A language model advanced one token at a time with its recurrent states carried.

    ``reset(prompt)`` runs the prompt through the recurrent layers once and
    keeps their final states; ``step(token)`` runs one cell step per layer.
    Both return the next token's probabilities, equal to
    ``model(ids[None])[0, -1]`` for the ids fed so far (to float rounding);
    ``generate`` continues from there in one compiled loop.

    Args:
        model: a language model (see the module docstring for what it may hold).

    Raises:
        ConfigError: the model holds a layer the stepper cannot carry
            (``Bidirectional``, a recurrent layer with ``return_sequences=False``
            or ``go_backwards=True``, anything else unexpected).
    """

    def __init__(self, model):
        self._embedding, self._recurrent, self._dense = self._read(model)
        #: Size of the softmax (the ids it can generate).
        self.vocabulary_size = int(self._dense.units)
        #: Number of ids the embedding reads.
        self.input_vocabulary_size = int(self._embedding.input_dim)
        if self.vocabulary_size > self.input_vocabulary_size:
            raise ConfigError(f"the softmax must not predict ids the embedding cannot read. Received: "
                              f"{self.vocabulary_size} outputs, embedding input_dim={self.input_vocabulary_size}")
        self._encoders = []
        width = self._embedding.output_dim
        for layer in self._recurrent:
            # A second wrapper around the same (built, shared) cell that also returns the final states.
            encoder = keras.layers.RNN(layer.cell, return_sequences=True, return_state=True,
                                       dtype=layer.dtype_policy, name=f"{layer.name}_stepper")
            encoder.build((None, None, width))
            self._encoders.append(encoder)
            width = layer.cell.output_size
        self._encode_function = tf.function(self._encode, reduce_retracing=True)
        self._advance_function = tf.function(self._advance, reduce_retracing=True)
        self._generate_function = tf.function(self._generate, reduce_retracing=True)
        self._logits = None
        self._states = None

    @staticmethod
    def _read(model):
        embedding, recurrent, dense = None, [], None
        for layer in model.layers:
            kind = type(layer).__name__
            if isinstance(layer, (keras.layers.InputLayer, keras.layers.Dropout)):
                continue
            if dense is not None:
                raise ConfigError(f"the Dense softmax must be the model's last layer. Received: {kind} "
                                  f"{layer.name!r} after it")
            if isinstance(layer, keras.layers.Embedding):
                if embedding is not None or recurrent:
                    raise ConfigError(f"the model must start with one Embedding. Received: {kind} {layer.name!r}")
                embedding = layer
            elif isinstance(layer, keras.layers.RNN):
                if embedding is None:
                    raise ConfigError(f"the model must start with an Embedding. Received: {kind} {layer.name!r} "
                                      f"first")
                if not layer.return_sequences or layer.go_backwards:
                    raise ConfigError(f"recurrent layers must run forward with return_sequences=True. Received: "
                                      f"{layer.name!r} with return_sequences={layer.return_sequences}, "
                                      f"go_backwards={layer.go_backwards}")
                recurrent.append(layer)
            elif isinstance(layer, keras.layers.Dense):
                activation = keras.activations.serialize(layer.activation)
                if activation not in ("softmax", "linear") or embedding is None:
                    raise ConfigError(f"the last layer must be a Dense with a softmax (or no activation) after an "
                                      f"Embedding. Received: Dense {layer.name!r} with activation={activation!r}")
                dense = layer
            else:
                raise ConfigError(
                    "a language model to step must be Embedding, recurrent layers (SimpleRNN/GRU/LSTM/RNN, "
                    "forward), Dropout and a Dense softmax; a bidirectional layer sees the future and cannot "
                    f"generate. Received: {kind} {layer.name!r}"
                )
        if embedding is None or dense is None:
            raise ConfigError(f"the model must hold an Embedding and a last Dense layer. Received: model "
                              f"{model.name!r} with layers {[layer.name for layer in model.layers]}")
        return embedding, recurrent, dense

    def _head(self, features):
        """The last Dense's logits (its pre-softmax values) for features ``(..., units)``, in float32."""
        logits = ops.matmul(ops.cast(features, "float32"), ops.cast(self._dense.kernel, "float32"))
        if self._dense.use_bias:
            logits = logits + ops.cast(self._dense.bias, "float32")
        return logits

    def run(self, ids, states=None):
        """Runs a batch of id sequences through the layers from ``states`` (zeros when ``None``).

        Works eagerly and inside a ``tf.function``; chaining calls with the
        returned states equals one call on the concatenated sequences.

        Args:
            ids: int ``(batch, time)``.
            states: a list (one entry per recurrent layer) of lists of
                ``(batch, size)`` tensors, as returned by a previous call.

        Returns:
            ``(logits, states)``: float32 logits ``(batch, time, vocabulary_size)``
            (the last Dense's pre-softmax values) and the states after the last step.
        """
        x = self._embedding(ids)
        new_states = []
        for index, encoder in enumerate(self._encoders):
            initial = None if states is None else list(states[index])
            x, *layer_states = encoder(x, initial_state=initial)
            new_states.append(list(layer_states))
        return self._head(x), new_states

    def _encode(self, prompt):
        logits, states = self.run(prompt)
        return logits[:, -1], states

    def _advance(self, token, states):
        x = self._embedding(token)
        new_states = []
        for layer, layer_states in zip(self._recurrent, states):
            x, layer_states = layer.cell(x, list(layer_states))
            new_states.append(list(layer_states) if isinstance(layer_states, (list, tuple)) else [layer_states])
        return self._head(x), new_states

    def _generate(self, logits, states, length, temperature, top_k, seed):
        def body(step, carried):
            logits, states, ids = carried
            token = choose(logits, temperature, top_k, seed, step)
            ids = ops.scatter_update(ids, ops.reshape(step, (1, 1)), token)
            logits, states = self._advance(token, states)
            return logits, states, ids

        ids = ops.zeros((length,), dtype="int32")
        return keras.ops.fori_loop(0, length, body, (logits, states, ids))

    def _probabilities(self):
        return ops.convert_to_numpy(ops.softmax(self._logits, axis=-1))[0]

    def reset(self, prompt):
        """Runs ``prompt`` (a non-empty sequence of ids) from zero states; returns the next token's probabilities.

        Returns:
            float32 ``(vocabulary_size,)``.
        """
        ids = _check_prompt(prompt, self.input_vocabulary_size, self._embedding.mask_zero)
        self._logits, self._states = self._encode_function(ops.convert_to_tensor(ids[None]))
        return self.probabilities

    def step(self, token):
        """Feeds one more token id; returns the next token's probabilities ``(vocabulary_size,)``."""
        self._require_reset()
        ids = _check_prompt([token], self.input_vocabulary_size, self._embedding.mask_zero)
        self._logits, self._states = self._advance_function(ops.convert_to_tensor(ids), self._states)
        return self.probabilities

    @property
    def probabilities(self):
        """The next token's probabilities after the ids fed so far, float32 ``(vocabulary_size,)``."""
        self._require_reset()
        return self._probabilities()

    def generate(self, length, temperature=1.0, top_k=None, seed=None):
        """Draws ``length`` new ids from the current state, in one compiled loop, and keeps the state after them.

        Args:
            length: number of ids to draw (>= 1).
            temperature: ``0`` for greedy decoding; lower is more conservative.
            top_k: keep only the ``k`` most likely tokens (``None``: all).
            seed: an int for reproducible draws; ``None`` draws one from Python's generator.

        Returns:
            A list of ``length`` ints.
        """
        self._require_reset()
        _check_arguments(length, temperature, top_k)
        seed = _draw_seed(seed)
        top_k = self.vocabulary_size if top_k is None else min(int(top_k), self.vocabulary_size)
        self._logits, self._states, ids = self._generate_function(
            self._logits, self._states, ops.convert_to_tensor(int(length), "int32"),
            ops.convert_to_tensor(float(temperature), "float32"), ops.convert_to_tensor(top_k, "int32"),
            ops.convert_to_tensor(seed, "int32"))
        return [int(token) for token in ops.convert_to_numpy(ids)]

    def _require_reset(self):
        if self._states is None:
            raise ConfigError("call reset(prompt) before stepping or generating. Received: no prompt yet")


# One stepper per model, so repeated calls to sample() reuse its traced functions.
_STEPPERS = weakref.WeakKeyDictionary()


def _stepper(model):
    stepper = _STEPPERS.get(model)
    if stepper is None:
        stepper = _STEPPERS[model] = Stepper(model)
    return stepper


def next_token_probabilities(model, prompt):
    """The probabilities of the token after ``prompt``, computed by carrying the recurrent states.

    Equal (to float rounding) to ``model(np.array([prompt]))[0, -1]``.

    Args:
        model: a language model (see the module docstring).
        prompt: a non-empty sequence of ids.

    Returns:
        float32 ``(vocabulary_size,)``.
    """
    return _stepper(model).reset(prompt)


def sample(model, prompt, length, temperature=1.0, top_k=None, seed=None):
    """Generates ``length`` ids after ``prompt``, one cell step per token, in one compiled loop.

    Args:
        model: a language model of :mod:`dlkit.sequence.models` (or see the
            module docstring for what else works).
        prompt: a non-empty sequence of int ids.
        length: number of new ids (>= 1).
        temperature: >= 0; ``0`` is greedy ``argmax`` decoding, ``1`` samples the
            model's distribution, lower values sharpen it.
        top_k: sample among the ``k`` most likely tokens only (``1``: greedy).
        seed: an int reproduces the same ids; ``None`` draws a seed.

    Returns:
        A list of ``length`` ints: the new ids, without the prompt.

    Raises:
        ConfigError: bad arguments (empty prompt, ids out of range, length < 1,
            temperature < 0, top_k < 1) or a model the stepper cannot carry.
    """
    _check_arguments(length, temperature, top_k)
    stepper = _stepper(model)
    stepper.reset(prompt)
    return stepper.generate(length, temperature=temperature, top_k=top_k, seed=seed)


_FORWARDS = weakref.WeakKeyDictionary()


def _compiled_forward(model):
    """``model(ids, training=False)`` as a ``tf.function``, cached per model without keeping the model alive."""
    forward = _FORWARDS.get(model)
    if forward is None:
        reference = weakref.ref(model)
        # A weak reference inside: the traced graphs capture the variables, not the model.
        forward = _FORWARDS[model] = tf.function(lambda ids: reference()(ids, training=False),
                                                 reduce_retracing=True)
    return forward


def window_sample(model, prompt, length, temperature=1.0, top_k=None, seed=None, compiled=True):
    """The slow reference: re-feeds the whole growing sequence through ``model`` for every new token.

    As keras.io's character-LSTM example does (it re-encodes a 40-character
    window for each character). It draws with the same rule and the same
    per-step seeds as :func:`sample` (on ``log`` of the model's probabilities),
    so both return the same ids for the same seed, up to float rounding of the
    probabilities.

    Args:
        model: any model mapping ids ``(1, time)`` to next-token probabilities
            ``(1, time, vocabulary_size)`` (logits when its last layer is a
            ``Dense`` without activation).
        prompt, length, temperature, top_k, seed: as in :func:`sample`.
        compiled: run ``model`` through a ``tf.function`` (traced for a
            growing length once, like keras.io's ``model.predict``); ``False``
            calls it eagerly (much slower on TensorFlow).

    Returns:
        A list of ``length`` ints.
    """
    _check_arguments(length, temperature, top_k)
    embedding = next((layer for layer in model.layers if isinstance(layer, keras.layers.Embedding)), None)
    last = model.layers[-1]
    outputs_logits = isinstance(last, keras.layers.Dense) and keras.activations.serialize(last.activation) == "linear"
    vocabulary_in = embedding.input_dim if embedding is not None else np.iinfo(np.int32).max
    ids = list(_check_prompt(prompt, vocabulary_in, bool(embedding is not None and embedding.mask_zero)))
    seed = _draw_seed(seed)
    forward = _compiled_forward(model) if compiled else (lambda batch: model(batch, training=False))
    generated = []
    for step in range(length):
        outputs = ops.cast(forward(ops.convert_to_tensor(np.asarray([ids], np.int32)))[:, -1], "float32")
        logits = outputs if outputs_logits else ops.log(ops.maximum(outputs, 1e-30))
        vocabulary = outputs.shape[-1]
        k = vocabulary if top_k is None else min(int(top_k), vocabulary)
        token = choose(logits, ops.convert_to_tensor(float(temperature)),
                       ops.convert_to_tensor(k, "int32"), ops.convert_to_tensor(seed, "int32"),
                       ops.convert_to_tensor(step, "int32"))
        token = int(ops.convert_to_numpy(token)[0])
        generated.append(token)
        ids.append(token)
    return generated
