"""Person names that ship inside the Faker package: offline data for the sequence recipes.

Faker keeps, per locale, the first names and surnames its fake people are made
of (``faker/providers/person/<locale>/__init__.py``). dlkit reads them as
plain lists, without Faker's random generator:

- :func:`surnames_by_language`: which language a surname comes from, the
  classification task of PyTorch's "classifying names with a character-level
  RNN" tutorial, from ten Latin-script locales. A surname listed by two
  locales (``Martinez`` in French and Spanish) tells nothing: it is dropped.
- :func:`first_names`: given names for the notes' "novel names" exercise, a
  character language model that invents new ones.
"""

import importlib

import numpy as np

from dlkit.errors import ConfigError, DatasetError

#: Language -> the Faker locale whose surnames stand for it (Latin script, a few hundred names or more each).
LANGUAGES = {
    "Croatian": "hr_HR",
    "Dutch": "nl_NL",
    "English": "en_US",
    "Finnish": "fi_FI",
    "French": "fr_FR",
    "German": "de_DE",
    "Irish": "ga_IE",
    "Italian": "it_IT",
    "Spanish": "es_ES",
    "Swedish": "sv_SE",
}
#: Locales whose first names make the default list of :func:`first_names`.
FIRST_NAME_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "it_IT", "es_ES", "nl_NL", "sv_SE", "fi_FI", "ga_IE")


def _provider(locale):
    try:
        import faker  # noqa: F401
    except ModuleNotFoundError:
        raise DatasetError(
            f"The name lists come from the Faker package, which is not installed: pip install faker. "
            f"Received: locale={locale!r}"
        ) from None
    try:
        return importlib.import_module(f"faker.providers.person.{locale}").Provider
    except ModuleNotFoundError:
        raise ConfigError(f"Faker has no person names for this locale. Received: locale={locale!r}") from None


def _names(provider, *attributes):
    names = set()
    for attribute in attributes:
        value = getattr(provider, attribute, ())
        names.update(value.keys() if hasattr(value, "keys") else value)  # some locales weight names in a dict
    return {name.strip() for name in names if isinstance(name, str) and name.strip()}


def surnames_by_language(languages=None):
    """Surnames by language, each list sorted, a surname that two languages share dropped from both.

    Args:
        languages: names from :data:`LANGUAGES` (default: all ten).

    Returns:
        ``{language: [surname, ...]}`` in the order of ``languages``.

    Raises:
        ConfigError: an unknown language.
    """
    languages = list(LANGUAGES) if languages is None else list(languages)
    unknown = [language for language in languages if language not in LANGUAGES]
    if unknown or len(set(languages)) < 2:
        raise ConfigError(
            f"languages must be two or more of {', '.join(LANGUAGES)}. Received: languages={languages}"
        )
    lists = {language: _names(_provider(LANGUAGES[language]), "last_names") for language in languages}
    seen = {}
    for names in lists.values():
        for name in names:
            seen[name] = seen.get(name, 0) + 1
    return {language: sorted(name for name in names if seen[name] == 1) for language, names in lists.items()}


def split_names(by_language, seed=0, fractions=(0.7, 0.15, 0.15)):
    """A stratified, seeded train/dev/test split in which no name is in two splits.

    Args:
        by_language: ``{label name: [name, ...]}`` (names unique across labels).
        seed: seed of the shuffle.
        fractions: shares of train, dev and test within each label.

    Returns:
        ``{"train" | "dev" | "test": (names, labels)}``: a list of strings and an
        int32 array of label ids in the order of ``by_language``.
    """
    rng = np.random.default_rng(seed)
    splits = {name: ([], []) for name in ("train", "dev", "test")}
    for label, names in enumerate(by_language.values()):
        names = list(rng.permutation(sorted(set(names))))
        train_end = int(round(fractions[0] * len(names)))
        dev_end = train_end + int(round(fractions[1] * len(names)))
        for split, part in (("train", names[:train_end]), ("dev", names[train_end:dev_end]),
                            ("test", names[dev_end:])):
            splits[split][0].extend(part)
            splits[split][1].extend([label] * len(part))
    return {split: (names, np.asarray(labels, np.int32)) for split, (names, labels) in splits.items()}


def first_names(locales=FIRST_NAME_LOCALES):
    """Given names of ``locales`` (sorted, unique, single words of letters only).

    Raises:
        ConfigError: a locale Faker has no names for.
    """
    names = set()
    for locale in locales:
        names |= _names(_provider(locale), "first_names", "first_names_male", "first_names_female")
    return sorted(name for name in names if name.isalpha())
