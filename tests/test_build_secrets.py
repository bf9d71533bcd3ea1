"""No API key in anything a build writes or prints, whatever road it takes (issue 12)."""

from __future__ import annotations

from pathlib import Path

from test_build_helpers import web, world  # noqa: F401

from mmimdb2.builder import cli
from mmimdb2.builder.secrets import Redactor
from mmimdb2.builder.sources.tmdb import TmdbSource

TMDB_KEY = "tmdb-SEKRET-4f9a2c"
OMDB_KEY = "omdb-SEKRET-77b1e0"


def leaks(out: Path, text: str, *secrets: str) -> list[str]:
    """Where the secrets (or their stripped forms) appear: file paths under ``out``, or "output"."""
    found = []
    for s in {x for sec in secrets for x in (sec, sec.strip())}:
        for p in out.rglob("*"):
            if p.is_file() and s.encode() in p.read_bytes():
                found.append(str(p.relative_to(out)))
        if s in text:
            found.append("output")
    return found


def build_cli(world, out: Path, monkeypatch, capsys, env: dict[str, str], sources: str) -> tuple[int, str]:
    for k, v in {**world.env, **env}.items():
        monkeypatch.setenv(k, v)
    code = cli.main(["--out", str(out), "--manifest", str(world.manifest), "--sources", sources, "--tsv-dir", str(world.tsv_dir),
                     "--rate", "500/s", "--attempts", "1", "--no-progress"])  # fmt: skip
    cap = capsys.readouterr()
    return code, cap.out + cap.err


def test_redactor_masks_every_form_of_a_secret():
    red = Redactor(["abc/def+1\n", "k"])
    assert red("key abc/def+1\n and abc%2Fdef%2B1 and abc%2Fdef%2B1%0A and 'abc/def+1\\n'") == "key *** and *** and *** and '***'"
    assert red("GET https://x/?i=1&apikey=zzz&token=yyy") == "GET https://x/?i=1&apikey=***&token=***"
    assert red("k stays: too short to be a key") == "k stays: too short to be a key"
    assert red.obj({"reason": ["abc/def+1"], "abc/def+1": 3}) == {"reason": ["***"], "***": 3}


def test_malformed_base_urls_leak_no_key(world, tmp_path, monkeypatch, capsys):
    env = {"TMDB_API_KEY": TMDB_KEY, "TMDB_API_URL": "htp://127.0.0.1:1/3", "OMDB_API_KEY": OMDB_KEY, "OMDB_API_URL": "http://[::1/omdb/"}
    out = tmp_path / "out"
    code, text = build_cli(world, out, monkeypatch, capsys, env, "tsv,tmdb,omdb,imdb-html")
    assert code == 0  # the pages gave plot and poster; the two APIs failed with recorded reasons
    failures = (out / "failures.jsonl").read_text()
    assert "invalid request (InvalidSchema)" in failures and "invalid request (InvalidURL" in failures
    assert leaks(out, text, TMDB_KEY, OMDB_KEY) == []


def test_a_token_with_a_trailing_newline_is_stripped_and_never_shown(world, tmp_path, monkeypatch, capsys):
    env = {"TMDB_READ_TOKEN": "tok-SEKRET-9d3e\n", "TMDB_API_KEY": ""}
    out = tmp_path / "out"
    code, text = build_cli(world, out, monkeypatch, capsys, env, "tsv,tmdb")
    assert code == 0
    assert {h.get("Authorization") for _, k, h in world.web.log if k.startswith("/tmdb/3/")} == {"Bearer tok-SEKRET-9d3e"}
    assert leaks(out, text, "tok-SEKRET-9d3e\n") == []


def test_a_key_in_an_unexpected_exception_is_redacted_everywhere(world, tmp_path, monkeypatch, capsys):
    """The choke point, not the HTTP layer's care: a source bug that quotes its key still leaks nothing."""

    def buggy(self, imdb_id):
        raise RuntimeError(f"cannot parse answer for {imdb_id} from {self.api}?api_key={self.key} (key {self.key!r})")

    monkeypatch.setattr(TmdbSource, "fetch", buggy)
    out = tmp_path / "out"
    code, text = build_cli(world, out, monkeypatch, capsys, {"TMDB_API_KEY": TMDB_KEY + "\n"}, "tsv,tmdb,imdb-html")
    assert code == 0
    failures = (out / "failures.jsonl").read_text()
    assert "RuntimeError: cannot parse answer" in failures and "***" in failures
    assert leaks(out, text, TMDB_KEY + "\n") == []


def test_a_key_with_spaces_inside_is_refused_naming_only_the_variable(world, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    code, text = build_cli(world, out, monkeypatch, capsys, {"OMDB_API_KEY": "omdb SEKRET 123"}, "tsv,omdb,imdb-html")
    assert code == 0 and "omdb: skipped: OMDB_API_KEY contains whitespace" in text
    assert leaks(out, text, "omdb SEKRET 123") == []
