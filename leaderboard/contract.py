"""The result file contract: the JSON Schema, the text patterns it holds, a bounded read and a
checked, atomic write. Everything that reads or writes a result file goes through here
(:class:`leaderboard.record.ResultRecord` on top of it), so the limits are written once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from leaderboard.provenance import TEXT_CHARS
from mmimdb2.io import BadJSON, atomic_write_json, read_json


class ResultError(ValueError):
    """A record that cannot be read, converted, built, written or merged; the message names the field."""


LEADERBOARD_DIR = Path(__file__).parent
SCHEMA_FILE = LEADERBOARD_DIR / "schema.json"
#: Largest result file read. An honest record is ~11 KB (3 seeds, 23 genres, ~1.3 KB a seed), plus,
#: with its test predictions (:mod:`leaderboard.predictions`), 23 bits per test movie per seed and
#: once for the labels, base64: ~3.7 KB more for 3 seeds on 240 movies, ~153 KB on 10,000 movies.
#: So 1 MiB holds ~25 seeds on 10,000 movies yet parses in milliseconds; 50 MB would not be a result.
MAX_RESULT_BYTES = 1024 * 1024
#: Most JSON values (numbers, strings, ... containers included) a result may hold. An honest one has
#: ~170 plus ~60 a seed (344 for 3 seeds); 20,000 is ~300 seeds. The schema check costs ~40 µs a
#: value, so 1 MiB of small values would take ~20 s to validate: the cap keeps a hostile file ~1 s.
MAX_RESULT_VALUES = 20_000
#: Deepest nesting read: a record nests 5 levels (per_seed/i/metrics/per_genre), a config a few more.
MAX_RESULT_DEPTH = 16

#: The free-text provenance fields that reach the README hold only :data:`TEXT_CHARS`; the schema
#: holds the same patterns; ``$(?!\n)`` because Python's ``$`` (jsonschema uses ``re.search``)
#: would otherwise accept one trailing newline.
TEXT_PATTERN = rf"^[{TEXT_CHARS}]*$(?!\n)"
#: Identifiers: dataset, model, KG model and suite names.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$(?!\n)"
#: Model names: a plain name (``benchmarks.registry``'s, or one's own), or the import path
#: ``package.module:Name`` of a model of one's own (``benchmarks.imported``).
MODEL_NAME_PATTERN = r"^(?:[A-Za-z0-9][A-Za-z0-9._-]*|[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_.]*)$(?!\n)"
#: Split names (``authors:`` marks the authors' protocol).
SPLIT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$(?!\n)"
#: Config keys: Python identifiers (config dataclass fields; ``.`` joins nested keys in labels).
CONFIG_KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$(?!\n)"




@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a result record."""
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def schema_errors(record: Any) -> list[str]:
    """Every schema violation of ``record`` as ``"<json path>: <message>"``, sorted; empty when valid."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(load_schema())
    out = []
    for err in validator.iter_errors(record):
        err = _specific(err)
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        if err.validator == "maxLength":
            msg = f"{len(err.instance):,} characters: longer than {err.validator_value} (it is too long)"
        else:
            msg = _pattern_message(err) if err.validator == "pattern" else err.message
        msg = msg if len(msg) < 300 else msg[:300] + "…"
        out.append(f"{where}: {msg}")
    return sorted(set(out))


def _specific(err: Any) -> Any:
    """For a ``oneOf`` (e.g. string-or-null) failed by a value of the right type, the branch's own error.

    "'<script>' is not valid under any of the given schemas" says less than the pattern it broke.
    """
    while err.validator in ("oneOf", "anyOf") and err.context:
        fitting = [e for e in err.context if e.validator != "type"]
        if len(fitting) != 1:
            break
        err = fitting[0]
    return err


def _pattern_message(err: Any) -> str:
    """A pattern error naming what is allowed and, for text, the characters that are not (one line)."""
    value = err.instance
    shown = repr(value if len(value) <= 60 else value[:60] + "…")
    if "propertyNames" in err.schema_path:
        return f"key {shown} is not an identifier (letters, digits and _, not starting with a digit)"
    bad = sorted({c for c in value if not re.search(err.validator_value, c)})
    if err.validator_value == TEXT_PATTERN and bad:
        chars = ", ".join(repr(c) for c in bad)
        return f"{shown} has characters not allowed in this field ({chars}); allowed: letters, digits, space and _.,:;=+~@%()/-"
    if err.validator_value in _PATTERN_WORDS:
        return f"{shown} is not {_PATTERN_WORDS[err.validator_value]}"
    return f"{shown} does not match {err.validator_value!r}"


_PATTERN_WORDS = {
    NAME_PATTERN: "a plain name (letters, digits and ._-, starting with a letter or digit; one line)",
    MODEL_NAME_PATTERN: "a model name (a plain name of letters, digits and ._-, or an import path package.module:Name; one line)",
    SPLIT_NAME_PATTERN: "a split name (letters, digits and ._:-, starting with a letter or digit; one line)",
}


def read_result(path: str | Path) -> dict[str, Any]:
    """Parse one result file, bounded (:data:`MAX_RESULT_BYTES`, :data:`MAX_RESULT_DEPTH`, a regular file).

    NaN/Infinity literals are kept as floats so the validator can name them.
    """
    path = Path(path)
    try:
        data = read_json(path, max_bytes=MAX_RESULT_BYTES, max_depth=MAX_RESULT_DEPTH, unique_keys=True)
    except BadJSON as e:
        raise ResultError(f"{path}: cannot read a JSON result ({str(e).removeprefix(f'{path}: ')})") from None
    if _count_values(data, MAX_RESULT_VALUES) > MAX_RESULT_VALUES:
        raise ResultError(f"{path}: more than {MAX_RESULT_VALUES:,} JSON values; a 3-seed result holds ~350")
    if not isinstance(data, dict):
        raise ResultError(f"{path}: a result must be a JSON object, got {type(data).__name__}")
    return data


def _count_values(obj: Any, limit: int) -> int:
    """How many JSON values ``obj`` holds, counting stopped once past ``limit`` (iterative)."""
    stack, n = [obj], 0
    while stack and n <= limit:
        node = stack.pop()
        n += 1
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return n


def write_result(record: Mapping[str, Any], path: str | Path) -> Path:
    """Check ``record`` against the schema (and for NaN), then write it atomically to ``path``."""
    try:
        json.dumps(record, allow_nan=False)
    except ValueError:
        raise ResultError(f"{path}: record holds NaN or infinity; results must be finite") from None
    errors = schema_errors(record)
    if errors:
        raise ResultError(f"{path}: record does not follow leaderboard/schema.json:\n  " + "\n  ".join(errors))
    return atomic_write_json(path, record)


