"""A polite HTTP client for the builder, over ``requests``.

Why each part exists: sources share hosts across worker threads, so the rate limit is per host
and shared (one :class:`HostRateLimiter` per build); servers ask for patience with 429/503 and
``Retry-After``, which we honour with bounded, jittered exponential backoff; re-runs must not
re-fetch, so successful (and definitive 404) answers go to an on-disk cache; and some hosts
answer with a bot challenge (a firewall), which we detect and never try to get around.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import requests

from mmimdb2.builder._version import __version__
from mmimdb2.builder.secrets import redact_url
from mmimdb2.io import atomic_write_bytes, read_regular_bytes

#: The project's name for servers' logs; no URL is claimed.
USER_AGENT_NAME = "mmimdb2-build"

#: Largest answer read (after decompression): a title page is ~1.5 MB, a poster a few hundred KB.
#: A gzip bomb (400 KB on the wire, 400 MB unpacked) stops here instead of in memory and the cache.
MAX_BODY_BYTES = 32 * 1024 * 1024

#: Largest file :meth:`PoliteSession.download` writes (IMDb's biggest TSV, title.principals, is ~0.7 GB).
MAX_DOWNLOAD_BYTES = 8 * 1024 * 1024 * 1024


def user_agent() -> str:
    """``mmimdb2-build/<version> (MM-IMDb 2.0 dataset builder; python-requests/<v>)``."""
    return f"{USER_AGENT_NAME}/{__version__} (MM-IMDb 2.0 dataset builder, mmimdb2 project; python-requests/{requests.__version__})"


class HttpError(RuntimeError):
    """A request that failed for good (after its retries) or answered with an error status."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NotFound(HttpError):
    """The server says the resource does not exist (404/410): definitive, cached."""


class Unreachable(HttpError):
    """Every attempt failed to connect: the host is down or there is no network."""


class FirewallBlocked(HttpError):
    """The host answered with a bot challenge / captcha page: stop using it, do not retry."""


def redact(url: str) -> str:
    """The URL with API keys replaced by ``***`` (for messages and reports)."""
    return redact_url(url)


# Markers of challenge pages: AWS WAF (what IMDb uses: HTTP 202 + x-amzn-waf-action, a page
# loading challenge.js / gokuProps), CAPTCHA forms and Cloudflare's interstitials.
_CHALLENGE_MARKERS = (
    b"gokuProps", b"awswaf", b"challenge.js", b"captcha", b"cf-chl", b"cf_chl",
    b"Just a moment...", b"Attention Required!", b"Request blocked", b"Access Denied",
)  # fmt: skip


# Markers that only a challenge page carries (AWS WAF's script and its config, Cloudflare's
# interstitial); the real 2024-25 IMDb title pages contain none of them.
_STRONG_MARKERS = (b"gokuprops", b"awswaf", b"challenge.js", b"cf-chl", b"cf_chl", b"just a moment...", b"attention required!")


def looks_like_challenge(body: bytes) -> bool:
    """True when an HTML body is a firewall's challenge page (served with HTTP 200, or saved by a browser).

    Decided on markers only challenge pages carry, in a page without the title page's embedded
    data (``__NEXT_DATA__``), so a real page that merely mentions "captcha" is not mistaken.
    """
    head = body[:65536].lower()
    if not head.lstrip().startswith((b"<", b"\xef\xbb\xbf<")):
        return False  # JSON or an image, not a page
    return any(m in head for m in _STRONG_MARKERS) and b"__next_data__" not in body.lower()


def is_challenge(resp: requests.Response, *, peek: bool = True, body: bytes | None = None) -> bool:
    """True when ``resp`` is a firewall's challenge rather than the content asked for.

    ``body`` is the answer's body already read (with its size bound), else ``resp.content``. A 200
    answer's body is looked at only with ``peek`` and when it may be HTML (a streamed download of a
    multi-GB TSV is judged by its headers alone; a challenge there fails the gzip check).
    """
    waf = resp.headers.get("x-amzn-waf-action", "")
    if waf.lower() in ("challenge", "captcha", "block"):
        return True
    if resp.status_code == 200:
        ctype = resp.headers.get("Content-Type", "").lower()
        return peek and (not ctype or "html" in ctype) and looks_like_challenge(resp.content if body is None else body)
    if resp.status_code in (202, 403, 405, 429, 503):
        head = (resp.content if body is None else body)[:65536]
        if resp.status_code == 202 and not head.strip():
            return True  # IMDb's WAF answers an empty 202 instead of the page
        low = head.lower()
        return any(m.lower() in low for m in _CHALLENGE_MARKERS)
    return False


def _read_body(resp: requests.Response, url: str, max_bytes: int) -> bytes:
    """The body of a streamed answer, decompressed, of at most ``max_bytes``; else :class:`HttpError`.

    Read in blocks, so an answer over the limit (a Content-Length too large, or a gzip bomb that
    only grows once unpacked) is refused after at most ``max_bytes`` plus one block in memory.
    """
    too_big = f"{redact(url)}: answer over {max_bytes:,} bytes (after decompression); refused"
    length = resp.headers.get("Content-Length", "")
    if length.isascii() and length.isdigit() and not resp.headers.get("Content-Encoding") and int(length) > max_bytes:
        raise HttpError(too_big, resp.status_code)
    buf = bytearray()
    for block in resp.iter_content(1 << 16):
        buf += block
        if len(buf) > max_bytes:
            raise HttpError(too_big, resp.status_code)
    return bytes(buf)


def _host(url: str) -> str:
    """The host of ``url`` (the rate limiter's key); a malformed URL is an :class:`HttpError` naming it, redacted."""
    try:
        return urlsplit(url).netloc
    except ValueError as e:
        raise HttpError(f"{redact(url)}: invalid request (InvalidURL: {e}); check the source's base URL") from None


class HostRateLimiter:
    """At most ``rate`` requests per second to each host, shared by all threads.

    Each caller reserves the next free slot for its host under a lock and sleeps outside it,
    so workers queue fairly without holding the lock while waiting.
    """

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError(f"The 'rate' parameter of HostRateLimiter must be > 0. Got {rate!r} instead.")
        self.interval = 1.0 / rate
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()
        self._clock, self._sleep = clock, sleep

    def wait(self, host: str) -> float:
        """Block until ``host`` may be contacted; return the seconds waited."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next.get(host, now))
            self._next[host] = slot + self.interval
        delay = slot - now
        if delay > 0:
            self._sleep(delay)
        return max(delay, 0.0)


class ResponseCache:
    """On-disk cache of answers, keyed by sha256 of method + URL (+ auth scope), atomic writes.

    The key is computed from the URL with its API keys redacted, so a new key still finds the
    cached answers and no key reaches the disk; bodies are stored as received, behind one JSON
    header line (status, content type).
    """

    def __init__(self, root: str | Path, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes  # an entry larger than any answer read is foreign: not read

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.bin"

    @staticmethod
    def key(url: str, scope: str = "") -> str:
        return hashlib.sha256(f"GET {redact(url)}\n{scope}".encode()).hexdigest()

    def get(self, key: str) -> tuple[int, str, bytes] | None:
        p = self._path(key)
        try:
            raw = read_regular_bytes(p, max_bytes=self.max_bytes + 4096)
        except FileNotFoundError:
            return None
        except OSError:
            return None  # too large or not a plain file: fetch again
        head, _, body = raw.partition(b"\n")
        try:
            meta = json.loads(head)
            return int(meta["status"]), str(meta.get("content_type", "")), body
        except (ValueError, KeyError):
            return None  # a foreign or damaged entry: fetch again

    def put(self, key: str, status: int, content_type: str, body: bytes) -> None:
        head = json.dumps({"status": status, "content_type": content_type}).encode()
        atomic_write_bytes(self._path(key), head + b"\n" + body)

    def delete(self, key: str) -> None:
        """Forget one answer (a page found cut short after it was stored), so the next run asks again."""
        self._path(key).unlink(missing_ok=True)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: ``attempts`` tries in all, backoff ``base * 2**n`` (+ up to ``jitter`` of it), capped.

    ``max_retry_after`` caps a server's ``Retry-After`` so one answer cannot park a worker for hours;
    tests shrink every delay through these fields.
    """

    attempts: int = 4
    base: float = 1.0
    cap: float = 60.0
    jitter: float = 0.5
    max_retry_after: float = 300.0
    timeout: tuple[float, float] = (10.0, 30.0)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"The 'attempts' parameter of RetryPolicy must be >= 1. Got {self.attempts!r} instead.")
        if min(self.base, self.cap, self.jitter, self.max_retry_after) < 0:
            raise ValueError("The delays of RetryPolicy (base, cap, jitter, max_retry_after) must be >= 0.")

    def backoff(self, n: int, rng: random.Random) -> float:
        d = min(self.cap, self.base * (2**n))
        return d * (1.0 + self.jitter * rng.random())


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or ``None``."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass
class Response:
    """What :meth:`PoliteSession.get` returns: status, content type, body and whether it came from the cache."""

    url: str
    status: int
    content_type: str
    content: bytes
    from_cache: bool = False

    def json(self) -> object:
        return json.loads(self.content.decode("utf-8"))

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


@dataclass
class PoliteSession:
    """GET with a per-host shared rate limit, retries honouring ``Retry-After``, a cache and firewall detection.

    One instance per source (its own ``requests.Session`` and headers); the limiter and cache are
    shared by the whole build.
    """

    limiter: HostRateLimiter
    cache: ResponseCache | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    headers: Mapping[str, str] = field(default_factory=dict)
    seed: int = 0
    sleep: Callable[[float], None] = time.sleep
    #: Largest answer :meth:`get` reads, after decompression (:data:`MAX_BODY_BYTES`).
    max_body: int = MAX_BODY_BYTES
    #: Largest file :meth:`download` writes (:data:`MAX_DOWNLOAD_BYTES`).
    max_download: int = MAX_DOWNLOAD_BYTES

    def __post_init__(self) -> None:
        self._local = threading.local()
        self._rng = random.Random(self.seed)
        self._rng_lock = threading.Lock()

    def _session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            s.headers["User-Agent"] = user_agent()
            s.headers.update(self.headers)
            self._local.session = s
        return s

    def _jittered(self, n: int) -> float:
        with self._rng_lock:
            return self.retry.backoff(n, self._rng)

    def get(self, url: str, params: Mapping[str, str] | None = None, *, cache_scope: str = "") -> Response:
        """GET ``url``: a 200 :class:`Response`, or raise :class:`NotFound`, :class:`FirewallBlocked`, :class:`HttpError`."""
        if params:
            url = url + ("&" if "?" in url else "?") + urlencode(sorted(params.items()))
        key = ResponseCache.key(url, cache_scope)
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                status, ctype, body = hit
                if status == 200 and looks_like_challenge(body):
                    hit = None  # a challenge cached by an older version: never serve it, ask again
                elif status in (404, 410):
                    raise NotFound(f"{redact(url)}: HTTP {status} (cached)", status)
                else:
                    return Response(url, status, ctype, body, from_cache=True)
        host = _host(url)
        last = "no attempt made"
        connect_failures = 0
        for n in range(self.retry.attempts):
            self.limiter.wait(host)
            connected = False
            try:
                with self._session().get(url, timeout=self.retry.timeout, stream=True) as r:
                    connected = True
                    body = _read_body(r, url, self.max_body)
            except requests.Timeout:
                last = "timed out"
                wait = self._jittered(n)
            except requests.exceptions.ContentDecodingError as e:
                raise HttpError(f"{redact(url)}: the answer's Content-Encoding does not decode ({type(e).__name__})") from None
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as e:
                last = f"connection failed ({type(e).__name__})"
                connect_failures += not connected
                wait = self._jittered(n)
            except (requests.RequestException, ValueError) as e:  # malformed URL or header: no retry helps
                raise HttpError(f"{redact(url)}: invalid request ({type(e).__name__}); check the source's base URL and key") from None
            else:
                if is_challenge(r, body=body):
                    raise FirewallBlocked(
                        f"{host} answered with a firewall challenge (HTTP {r.status_code}"
                        f"{', x-amzn-waf-action: ' + r.headers['x-amzn-waf-action'] if 'x-amzn-waf-action' in r.headers else ''})",
                        r.status_code,
                    )
                ctype = r.headers.get("Content-Type", "")
                if r.status_code == 200:
                    if self.cache is not None:
                        self.cache.put(key, 200, ctype, body)
                    return Response(url, 200, ctype, body)
                if r.status_code in (404, 410):
                    if self.cache is not None:
                        self.cache.put(key, r.status_code, ctype, b"")
                    raise NotFound(f"{redact(url)}: HTTP {r.status_code}", r.status_code)
                if r.status_code in (429, 500, 502, 503, 504):
                    last = f"HTTP {r.status_code}"
                    wait = self._jittered(n)
                    ra = parse_retry_after(r.headers.get("Retry-After"))
                    if ra is not None:
                        wait = max(wait, min(ra, self.retry.max_retry_after))
                else:
                    raise HttpError(f"{redact(url)}: HTTP {r.status_code}", r.status_code)
            if n + 1 < self.retry.attempts:
                self.sleep(wait)
        cls = Unreachable if connect_failures == self.retry.attempts else HttpError
        raise cls(f"{redact(url)}: {last} after {self.retry.attempts} attempts")

    def forget(self, url: str, *, cache_scope: str = "") -> None:
        """Drop the cached answer for ``url`` (the full URL a :class:`Response` carries): for a body
        that passed HTTP but not its reader's check, such as a page cut short and served with 200."""
        if self.cache is not None:
            self.cache.delete(ResponseCache.key(url, cache_scope))

    def download(self, url: str, dest: Path, *, chunk: int = 1 << 20) -> Path:
        """Stream a large file (an IMDb TSV) to ``dest`` via a temp file and rename: never a partial file."""
        host = _host(url)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.part")
        last = ""
        for n in range(self.retry.attempts):
            self.limiter.wait(host)
            try:
                with self._session().get(url, timeout=self.retry.timeout, stream=True) as r:
                    if is_challenge(r, peek=False):
                        raise FirewallBlocked(f"{host} answered with a firewall challenge (HTTP {r.status_code})", r.status_code)
                    if r.status_code == 404:
                        raise NotFound(f"{redact(url)}: HTTP 404", 404)
                    if r.status_code != 200:
                        raise HttpError(f"{redact(url)}: HTTP {r.status_code}", r.status_code)
                    written = 0
                    with open(tmp, "wb") as f:
                        for block in r.iter_content(chunk):
                            written += len(block)
                            if written > self.max_download:
                                raise HttpError(f"{redact(url)}: download over {self.max_download:,} bytes; refused")
                            f.write(block)
                tmp.replace(dest)
                return dest
            except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as e:
                last = type(e).__name__
                tmp.unlink(missing_ok=True)
                if n + 1 < self.retry.attempts:
                    self.sleep(self._jittered(n))
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        raise HttpError(f"{redact(url)}: {last} after {self.retry.attempts} attempts")
