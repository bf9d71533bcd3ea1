"""Every command's ``--help`` is true to a user: each flag has help text and shows its default, and
one concept has one flag name across the commands."""

from __future__ import annotations

import argparse
import importlib

import pytest

#: (module whose ``main(argv)`` builds the parser, argv that reaches its parse_args)
COMMANDS = [
    ("benchmarks.run", []), ("benchmarks.cv", []), ("mmimdb2.builder.cli", []), ("mmimdb2.builder.select", []),
    ("mmimdb2.demo.__main__", []), ("mmimdb2.stats", []), ("mmimdb2.audit", []), ("idkg.kg", []),
    ("leaderboard.render", []), ("leaderboard.validate", []), ("leaderboard.splits", []),
    ("benchmarks.perf.scale", []), ("benchmarks.board", []), ("benchmarks.robustness", []), ("benchmarks.diagnose", ["emap"]),
    ("leaderboard.reported", []),
    ("benchmarks.tune", []), ("benchmarks.reproduce", ["row.json"]),
]  # fmt: skip


class _Captured(Exception):
    pass


def parser_of(module: str, argv: list[str], monkeypatch) -> argparse.ArgumentParser:
    """The parser ``module.main`` builds, caught at its ``parse_args`` before anything runs."""

    def capture(self, *a, **k):
        raise _Captured(self)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    monkeypatch.setattr(argparse.ArgumentParser, "parse_known_args", capture)
    with pytest.raises(_Captured) as caught:
        importlib.import_module(module).main(argv)
    return caught.value.args[0]


def _flags(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction)) or action.help == argparse.SUPPRESS:
            continue
        yield action


#: Flags whose default is computed when they are absent (None in the parser), so the help must say how.
COMPUTED_DEFAULT = {"--data-root", "--cache-dir", "--http-cache", "--threads", "--encoder", "--tsv-dir", "--limit", "--leaderboard-dir"}

BOOLEAN = (argparse._StoreTrueAction, argparse._StoreFalseAction, argparse._StoreConstAction, argparse.BooleanOptionalAction)


@pytest.mark.parametrize(("module", "argv"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_every_flag_has_help_and_shows_its_default(module, argv, monkeypatch):
    parser = parser_of(module, argv, monkeypatch)
    problems = []
    for action in _flags(parser):
        name = "/".join(action.option_strings) or action.dest
        text = (action.help or "").strip()
        if not text:
            problems.append(f"{name}: no help text")
            continue
        takes_value = not isinstance(action, BOOLEAN) and action.nargs != 0
        optional_value = bool(action.option_strings) or action.nargs in ("?", "*")
        has_default = action.default not in (None, [], argparse.SUPPRESS) or any(s in COMPUTED_DEFAULT for s in action.option_strings)
        if takes_value and optional_value and not action.required and has_default and "default" not in text.lower():
            problems.append(f"{name}: default not shown (default={action.default!r})")
    assert not problems, f"{module}: " + "; ".join(problems)


def test_one_name_per_concept_across_commands(monkeypatch):
    """The feature cache is ``--cache-dir`` and the HTTP cache ``--http-cache``; a movie count is ``--limit``."""
    build = parser_of("mmimdb2.builder.cli", [], monkeypatch)
    demo = parser_of("mmimdb2.demo.__main__", [], monkeypatch)
    run = parser_of("benchmarks.run", [], monkeypatch)
    shown = lambda p: {s for a in _flags(p) for s in a.option_strings}  # noqa: E731
    assert "--http-cache" in shown(build) and "--cache-dir" not in shown(build)
    assert "--cache-dir" in shown(run)
    assert "--limit" in shown(demo) and "--n" not in shown(demo)
    assert "--limit" in shown(build)


def test_the_old_flag_names_keep_working(tmp_path, monkeypatch):
    """Scripts written against the earlier names still run: build's --cache-dir, the demo's --n."""
    build = parser_of("mmimdb2.builder.cli", [], monkeypatch)
    demo = parser_of("mmimdb2.demo.__main__", [], monkeypatch)
    monkeypatch.undo()
    assert build.parse_args(["--out", str(tmp_path), "--cache-dir", "c"]).http_cache.name == "c"
    assert demo.parse_args(["--out", "d", "--n", "80"]).limit == 80
    assert demo.parse_args(["--out", "d"]).limit == 3000
