"""Recurrent sequence models: the notes' cells, language models, classifiers, taggers and sampling.

    from dlkit.sequence import CharVocabulary, char_language_model, language_model_batches, sample
    vocabulary = CharVocabulary.from_text(text)
    model = char_language_model(vocabulary.size)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(language_model_batches(vocabulary.encode(text), sequence_length=100, batch_size=64), epochs=10)
    print(vocabulary.decode(sample(model, vocabulary.encode("The "), length=200, temperature=0.8, seed=0)))
"""

from dlkit import lazy_names
from dlkit.sequence.cells import GRUCell, LSTMCell, SimpleRNNCell, transplant
from dlkit.sequence.models import (
    BUILDERS,
    CELLS,
    build,
    char_language_model,
    language_model,
    sequence_classifier,
    sequence_tagger,
    word_language_model,
)

# Sampling and the text vocabularies use TensorFlow (tf.function, tf.data): imported on first use, so the cells and
# builders above import without it (docs/backends.md).
__getattr__, __dir__ = lazy_names(__name__, {
    "Stepper": "sampling", "choose": "sampling", "next_token_probabilities": "sampling", "sample": "sampling",
    "window_sample": "sampling",
    "CharVocabulary": "text", "WordVocabulary": "text", "bits_per_character": "text",
    "compressor_bits_per_character": "text", "language_model_batches": "text", "tokenize": "text",
})

__all__ = [
    "BUILDERS", "CELLS", "CharVocabulary", "GRUCell", "LSTMCell", "SimpleRNNCell", "Stepper", "WordVocabulary",
    "bits_per_character", "build", "char_language_model", "choose", "compressor_bits_per_character",
    "language_model", "language_model_batches", "next_token_probabilities", "sample", "sequence_classifier",
    "sequence_tagger", "tokenize", "transplant", "window_sample", "word_language_model",
]
