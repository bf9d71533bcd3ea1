"""A fake web for testing sources and builds offline: a real HTTP server on 127.0.0.1 that serves
TMDb-, OMDb- and IMDb-shaped answers, plus IMDb-format TSV.gz files and a manifest, all generated.

Used by the builder's tests and benchmarks, and by anyone adding a source: script the answers
(``web.routes[path] = Resp(...)``, a list for a sequence such as 429 then 200) and point the
source's base URL at ``web.url``. Nothing here touches the network.
"""

from __future__ import annotations

import gzip
import io
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from PIL import Image, ImageDraw

from mmimdb2.builder.http import RetryPolicy
from mmimdb2.genres import GENRES

#: Retries with millisecond delays, so tests of 429/503/timeouts run fast.
FAST_RETRY = RetryPolicy(attempts=3, base=0.01, cap=0.05, jitter=0.1, max_retry_after=2.0, timeout=(1.0, 1.0))


@dataclass
class Resp:
    """One scripted answer."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Route = Resp | list[Resp] | Callable[[dict], Resp]


class FakeWeb:
    """ThreadingHTTPServer in a thread. ``routes[key]`` answers a GET; key = path, or ``/omdb/<i>`` for OMDb.

    A list of answers is consumed in order (the last one repeats); ``log`` records (time, key, headers).
    """

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.log: list[tuple[float, str, dict]] = []
        self.delay = 0.0
        self._lock = threading.Lock()
        web = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def do_GET(self):
                u = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(u.query).items()}
                key = f"/omdb/{q.get('i', '')}" if u.path == "/omdb/" else u.path
                with web._lock:
                    web.log.append((time.monotonic(), key, dict(self.headers)))
                    route = web.routes.get(key)
                    if isinstance(route, list):
                        r = route.pop(0) if len(route) > 1 else route[0]
                    elif callable(route):
                        r = route(q)
                    else:
                        r = route or Resp(404, b'{"status_message": "not found"}')
                delay = r.delay or web.delay
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(r.status)
                    for k, v in r.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(r.body)))
                    self.end_headers()
                    self.wfile.write(r.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def hits(self, key: str) -> int:
        return sum(1 for _, k, _ in self.log if k == key)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def jpeg(seed: int, size: tuple[int, int] = (60, 90), fmt: str = "JPEG") -> bytes:
    """A small poster-like image (a colour and a bar depending on ``seed``)."""
    img = Image.new("RGB", size, ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256))
    ImageDraw.Draw(img).rectangle([5, 5 + seed % 20, size[0] - 5, 30 + seed % 20], fill=(255, 255, 255))
    out = io.BytesIO()
    img.save(out, format=fmt, quality=85)
    return out.getvalue()


def write_tsv_gz(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with gzip.open(path, "wt", encoding="utf-8", newline="\n") as f:
        f.write("\t".join(header) + "\n")
        for r in rows:
            f.write("\t".join(r) + "\n")


def json_body(obj) -> Resp:
    return Resp(200, json.dumps(obj).encode(), {"Content-Type": "application/json"})


def title_page(
    tt: str, title: str, year: int, genres: list[str], plot: str, director: tuple[str, str], actors: list[tuple[str, str]], image: str,
    *, title_type: str = "movie",
) -> bytes:
    """An IMDb title page in the 2024-25 layout, small: JSON-LD without people and with the release
    date (a year after ``year``, as for many real films), and ``__NEXT_DATA__`` holding titleText,
    releaseYear, titleType, titleGenres, plot, primaryImage and principalCreditsV2 with ``nm`` ids."""
    ld_type = {"movie": "Movie", "tvMovie": "Movie", "tvEpisode": "TVEpisode", "tvSeries": "TVSeries", "videoGame": "VideoGame"}.get(title_type, "CreativeWork")
    ld = {
        "@context": "https://schema.org", "@type": ld_type, "url": f"https://www.imdb.com/title/{tt}/", "name": title,
        "image": image, "description": plot[:60], "genre": genres, "datePublished": f"{year + 1}-02-25",
    }  # fmt: skip

    def credit(nm: str, name: str) -> dict:
        return {"name": {"nameText": {"text": name, "__typename": "NameText"}, "id": nm, "__typename": "Name"}, "__typename": "CreditV2"}

    def group(text: str, people: list[tuple[str, str]]) -> dict:
        return {"totalCredits": len(people), "grouping": {"text": text, "__typename": "CreditGrouping"}, "credits": [credit(*p) for p in people]}

    atf = {
        "id": tt, "titleText": {"text": title, "__typename": "TitleText"}, "originalTitleText": {"text": title},
        "titleType": {"text": title_type, "id": title_type, "isSeries": title_type in ("tvSeries", "tvMiniSeries"), "isEpisode": title_type == "tvEpisode"},
        "releaseYear": {"year": year, "endYear": None, "__typename": "YearRange"},
        "releaseDate": {"day": 25, "month": 2, "year": year + 1},
        "titleGenres": {"genres": [{"genre": {"text": g, "__typename": "GenreItem"}} for g in genres]},
        "plot": {"plotText": {"plainText": plot, "__typename": "Markdown"}},
        "primaryImage": {"id": "rm1", "url": image, "width": 300, "height": 450},
        "principalCreditsV2": [group("Director", [director]), group("Writer", [("nm0000009", "Some Writer")]), group("Stars", actors)],
    }  # fmt: skip
    nxt = {"props": {"pageProps": {"tconst": tt, "aboveTheFoldData": atf, "mainColumnData": {}}}, "page": "/title/[tconst]"}
    return (
        f"<!DOCTYPE html><html><head><title>{title} ({year}) - IMDb</title>"
        f'<script type="application/ld+json">{json.dumps(ld)}</script></head>'
        f'<body><h1>{title}</h1><script id="__NEXT_DATA__" type="application/json">{json.dumps(nxt)}</script></body></html>\n'
    ).encode()


def challenge_page() -> bytes:
    """What IMDb's firewall (AWS WAF) serves instead of a title page: a script challenge, no title data."""
    return (
        b'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title></title>'
        b'<script>window.gokuProps = {"key":"AQID","iv":"A6weAA","context":"x"};</script>'
        b'<script src="https://example.token.awswaf.com/example/challenge.js"></script></head>'
        b'<body><div id="challenge-container"></div><noscript>JavaScript is disabled</noscript></body></html>'
    )


@dataclass
class World:
    """Ids, TSV folder, manifest folder, the fake web and the env (base URLs, keys) a build needs to use it."""

    web: FakeWeb
    ids: list[str]
    tsv_dir: Path
    manifest: Path
    env: dict[str, str]
    movies: dict[str, dict]


def make_world(tmp: Path, web: FakeWeb, n: int = 20) -> World:
    """``n`` movies known to every source (TSV, TMDb, OMDb, IMDb pages), split 60/10/30."""
    ids = [f"tt{100001 + k:07d}" for k in range(n)]
    movies = {}
    for k, tt in enumerate(ids):
        movies[tt] = {
            "title": f"Movie {k}", "year": 1990 + k % 30,
            "genres": [GENRES[k % 23], GENRES[(k * 7 + 3) % 23]] if k % 5 else [GENRES[k % 23], "News"],
            "plot": f"Plot of movie {k}: a story about person {k % 4} and the {GENRES[k % 23].lower()} of it all.",
            "director": (f"nm{9000000 + k % 6:07d}", f"Director {k % 6}"),
            "cast": [(f"nm{8000000 + (k + j) % 10:07d}", f"Actor {(k + j) % 10}") for j in range(3)],
        }  # fmt: skip
    tsv_dir = tmp / "tsv"
    tsv_dir.mkdir(parents=True, exist_ok=True)
    noise = [f"tt{9000000 + j}" for j in range(30)]
    write_tsv_gz(tsv_dir / "title.basics.tsv.gz", ["tconst", "titleType", "primaryTitle", "originalTitle", "isAdult", "startYear", "endYear", "runtimeMinutes", "genres"],
                 [[tt, "movie", m["title"], m["title"], "0", str(m["year"]), "\\N", "\\N", ",".join(m["genres"])] for tt, m in movies.items()]
                 + [[t, "movie", "Noise", "Noise", "0", "2000", "\\N", "90", "Drama"] for t in noise])  # fmt: skip
    write_tsv_gz(tsv_dir / "title.crew.tsv.gz", ["tconst", "directors", "writers"], [[tt, m["director"][0], "\\N"] for tt, m in movies.items()])
    write_tsv_gz(tsv_dir / "title.principals.tsv.gz", ["tconst", "ordering", "nconst", "category", "job", "characters"],
                 [[tt, str(j + 1), nm, "actor" if j % 2 == 0 else "actress", "\\N", "\\N"] for tt, m in movies.items() for j, (nm, _) in enumerate(m["cast"])]
                 + [[tt, "9", m["director"][0], "director", "\\N", "\\N"] for tt, m in movies.items()])  # fmt: skip
    people = {nm: name for m in movies.values() for nm, name in [m["director"], *m["cast"]]}
    write_tsv_gz(tsv_dir / "name.basics.tsv.gz", ["nconst", "primaryName", "birthYear", "deathYear", "primaryProfession", "knownForTitles"],
                 [[nm, name, "\\N", "\\N", "actor", "\\N"] for nm, name in sorted(people.items())])  # fmt: skip
    manifest = tmp / "manifest"
    manifest.mkdir(exist_ok=True)
    a, b = int(n * 0.6), int(n * 0.7)
    for part, sl in (("train", ids[:a]), ("dev", ids[a:b]), ("test", ids[b:])):
        (manifest / f"{part}.txt").write_text("".join(i + "\n" for i in sl))
    for k, tt in enumerate(ids):
        m = movies[tt]
        web.routes[f"/tmdb/3/find/{tt}"] = json_body({"movie_results": [{"id": 500 + k}], "person_results": []})
        web.routes[f"/tmdb/3/movie/{500 + k}"] = json_body({
            "id": 500 + k, "title": m["title"], "release_date": f"{m['year']}-05-01",
            "genres": [{"id": 1, "name": g} for g in m["genres"]], "overview": m["plot"], "poster_path": f"/p{k}.jpg",
            "credits": {"cast": [{"name": a, "order": j} for j, (_, a) in enumerate(m["cast"])],
                        "crew": [{"name": m["director"][1], "job": "Director"}]},
        })  # fmt: skip
        web.routes[f"/tmdbimg/w500/p{k}.jpg"] = Resp(200, jpeg(k), {"Content-Type": "image/jpeg"})
        web.routes[f"/omdb/{tt}"] = json_body({
            "Title": m["title"], "Year": str(m["year"]), "Genre": ", ".join(m["genres"]), "Director": m["director"][1],
            "Actors": ", ".join(a for _, a in m["cast"]), "Plot": m["plot"] + " (OMDb)", "Poster": f"{web.url}/omdbimg/{tt}.jpg", "Response": "True",
        })  # fmt: skip
        web.routes[f"/omdbimg/{tt}.jpg"] = Resp(200, jpeg(k + 100), {"Content-Type": "image/jpeg"})
        web.routes[f"/imdb/title/{tt}/"] = Resp(200, title_page(tt, m["title"], m["year"], m["genres"], m["plot"], m["director"], m["cast"], f"{web.url}/imdbimg/{tt}.jpg"), {"Content-Type": "text/html"})
        web.routes[f"/imdbimg/{tt}.jpg"] = Resp(200, jpeg(k + 200), {"Content-Type": "image/jpeg"})
    env = {
        "TMDB_API_KEY": "test-key", "TMDB_API_URL": f"{web.url}/tmdb/3", "TMDB_IMAGE_URL": f"{web.url}/tmdbimg",
        "OMDB_API_KEY": "omdb-key", "OMDB_API_URL": f"{web.url}/omdb/",
        "IMDB_TITLE_URL": f"{web.url}/imdb/title/{{id}}/", "MMIMDB2_TSV_URL": f"{web.url}/datasets/",
        "SOURCE_DATE_EPOCH": "1764028800",
    }  # fmt: skip
    return World(web, ids, tsv_dir, manifest, env, movies)


