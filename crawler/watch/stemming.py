"""Inflection: Snowball stemmers (PyStemmer) per language, and the prefix rule for languages
whose stemmers disagree with themselves (Russian "Азербайджан" stems to "азербайджа", but
"Азербайджаном" to "азербайджан")."""

from __future__ import annotations

from functools import lru_cache

import Stemmer

# ISO 639-1 -> Snowball algorithm.
SNOWBALL = {
    "ar": "arabic",
    "hy": "armenian",
    "eu": "basque",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "nl": "dutch",
    "en": "english",
    "et": "estonian",
    "fi": "finnish",
    "fr": "french",
    "de": "german",
    "el": "greek",
    "hi": "hindi",
    "hu": "hungarian",
    "id": "indonesian",
    "ms": "indonesian",
    "ga": "irish",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "no": "norwegian",
    "nb": "norwegian",
    "fa": "persian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "es": "spanish",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}
# Languages that inflect by suffixes a stemmer does not always undo: an unquoted query word
# also matches words that start with it and add at most PREFIX_SLACK letters.
SUFFIXING = frozenset(
    {
        "ru",
        "uk",
        "be",
        "bg",
        "sr",
        "hr",
        "bs",
        "pl",
        "cs",
        "sk",
        "sl",
        "tr",
        "az",
        "hy",
        "ka",
        "fi",
        "et",
        "hu",
        "lt",
        "lv",
        "kk",
        "ky",
        "uz",
    }
)
PREFIX_SLACK = 4
MIN_PREFIX_RULE_LENGTH = 4


@lru_cache(maxsize=64)
def stemmer(language: str | None) -> Stemmer.Stemmer | None:
    algorithm = SNOWBALL.get((language or "").lower())
    return Stemmer.Stemmer(algorithm) if algorithm else None


def suffixing(language: str | None) -> bool:
    return (language or "").lower() in SUFFIXING
