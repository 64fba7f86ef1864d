"""What a reader is told, in their language: gettext catalogs, one language per process.

Messages are written in English in the source, wrapped in :func:`_` (or :func:`ngettext` where
a count decides the form) with named placeholders filled by ``str.format`` after translation,
so a translation may move them. A message built at import time (a constant) is only marked,
with :func:`N_`, and translated where it is used. Babel extracts every wrapped message into
``locale/sleepbench.pot``; each language's ``.po`` beside it is compiled to the ``.mo`` read
here when the package is built.

The language is the process's: a pytest session sets it once it has read its options (each
xdist worker too, from the same options), and every message made after that is in it. Check
names, report keys and statuses are never translated.
"""

from __future__ import annotations

import argparse
import functools
import gettext
from pathlib import Path

__all__ = ["DEFAULT_LANGUAGE", "DOMAIN", "LOCALE_DIR", "N_", "_", "available", "every",
           "language", "language_argument", "language_problem", "ngettext", "use"]

DOMAIN = "sleepbench"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
#: The language of the source, which needs no catalog.
DEFAULT_LANGUAGE = "en"

_current: gettext.NullTranslations = gettext.NullTranslations()
_language = DEFAULT_LANGUAGE


@functools.cache
def available() -> tuple[str, ...]:
    """The languages a reader may choose: English, and each with a compiled catalog."""
    compiled = sorted(p.parents[1].name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))
    return (DEFAULT_LANGUAGE, *compiled)


def language_problem(lang: str, what: str = "language") -> str | None:
    """Why ``lang`` cannot be used, naming the languages that can; ``None`` if it can."""
    if lang in available():
        return None
    choices = ", ".join(available())
    if (LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po").is_file():
        return (f"{what} {lang!r} has a catalog that was never compiled (a checkout used "
                "without installing it); run `pip install -e .` or `pybabel compile -d "
                f"pytest_sleepbench/locale -D {DOMAIN}`; available now: {choices}")
    return f"unknown {what} {lang!r}; available: {choices}"


def language_argument(text: str) -> str:
    """``text`` as a command-line option's language, or the usage error naming the choices."""
    problem = language_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text


@functools.cache
def _translation(lang: str) -> gettext.NullTranslations:
    if lang == DEFAULT_LANGUAGE:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[lang], fallback=True)


def use(lang: str) -> str:
    """Tell every later message in ``lang`` (checked with :func:`language_problem` first);
    return the language used before, to restore it."""
    global _current, _language
    before = _language
    _current, _language = _translation(lang), lang
    return before


def language() -> str:
    return _language


def _(message: str) -> str:
    """``message`` in the process's language."""
    return _current.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message that counts ``n`` things, in the process's language."""
    return _current.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for the catalog where it cannot be translated yet (a constant made at
    import, before any language is chosen); :func:`_` translates it where it is used."""
    return message


def every(message: str) -> frozenset[str]:
    """``message`` in each language a report may have been written in, for reading a report
    back whatever language wrote it."""
    return frozenset(_translation(lang).gettext(message) for lang in available())
