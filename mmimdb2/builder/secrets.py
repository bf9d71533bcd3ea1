"""One place that keeps secrets out of everything the build writes or prints.

Why: an API key can reach a message by many roads (a malformed base URL echoed by ``requests``,
a token with a trailing newline quoted in an ``InvalidHeader`` error, a URL in a failure row).
Rather than hoping every message is careful, every writer and printer of the build passes its
text through one :class:`Redactor`: the journal, failures.jsonl, BUILD_INFO.json, the log, the
summary and the CLI's error lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus

MASK = "***"

#: Query parameters that carry credentials in URLs (``?api_key=...``, ``&apikey=...``, ``token=``).
SECRET_PARAMS = re.compile(r"((?:api_?key|apikey|access_token|token)=)[^&\s'\"]+", re.I)

#: Shorter values are not treated as secrets (masking "1" everywhere would garble every message).
MIN_SECRET_LEN = 4


def redact_url(text: str) -> str:
    """``text`` with the values of credential query parameters replaced by ``***``."""
    return SECRET_PARAMS.sub(r"\1" + MASK, text)


def _forms(secret: str) -> set[str]:
    """The spellings a secret can take in a message: raw, stripped, URL-quoted, repr-escaped."""
    out: set[str] = set()
    for s in {secret, secret.strip()}:
        out |= {s, quote(s, safe=""), quote_plus(s), s.encode("unicode_escape").decode("ascii", "replace")}
    return {f for f in out if len(f.strip()) >= MIN_SECRET_LEN}


class Redactor:
    """Callable text filter: known secret values (every form) and credential URL parameters -> ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for s in secrets:
            if s:
                forms |= _forms(s)
        self._forms = sorted(forms, key=len, reverse=True)  # longest first: a form may contain another

    def __call__(self, text: str) -> str:
        for f in self._forms:
            if f in text:
                text = text.replace(f, MASK)
        return redact_url(text)

    def obj(self, value: object) -> object:
        """A copy of a JSON-like value with every string (keys included) redacted."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {self(k) if isinstance(k, str) else k: self.obj(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.obj(v) for v in value]
        return value


def redactor_for(env: Mapping[str, str], names: Iterable[str]) -> Redactor:
    """The :class:`Redactor` for the values of the environment variables ``names`` (the sources' keys)."""
    return Redactor(env.get(n, "") for n in names)
