"""The polite HTTP layer against a real local server: Retry-After, 503, timeouts, bounded attempts,
the on-disk cache, the shared per-host rate limit, firewall detection and the User-Agent."""

from __future__ import annotations

import threading
import time

import pytest
from test_build_helpers import FAST_RETRY, Resp, web  # noqa: F401

from mmimdb2.builder.http import (
    FirewallBlocked,
    HostRateLimiter,
    HttpError,
    NotFound,
    PoliteSession,
    ResponseCache,
    RetryPolicy,
    parse_retry_after,
    redact,
)


def session(tmp_path=None, retry=FAST_RETRY, rate=1000.0) -> PoliteSession:
    return PoliteSession(HostRateLimiter(rate), ResponseCache(tmp_path / "cache") if tmp_path else None, retry)


def test_429_retry_after_is_honoured(web):
    web.routes["/a"] = [Resp(429, b"slow down", {"Retry-After": "1"}), Resp(200, b"ok")]
    t0 = time.monotonic()
    r = session().get(web.url + "/a")
    waited = time.monotonic() - t0
    assert r.content == b"ok" and web.hits("/a") == 2
    gap = web.log[1][0] - web.log[0][0]
    assert gap >= 0.95 and waited >= 0.95  # the backoff alone is ~0.01 s: the header set the wait


def test_503_is_retried_with_backoff_then_succeeds(web):
    web.routes["/b"] = [Resp(503, b"busy"), Resp(503, b"busy"), Resp(200, b"fine")]
    assert session().get(web.url + "/b").content == b"fine" and web.hits("/b") == 3


def test_attempts_are_bounded(web):
    web.routes["/c"] = Resp(503, b"down")
    with pytest.raises(HttpError, match="HTTP 503 after 3 attempts"):
        session().get(web.url + "/c")
    assert web.hits("/c") == 3


def test_timeouts_are_retried_then_reported(web):
    web.routes["/slow"] = Resp(200, b"late", delay=0.6)
    retry = RetryPolicy(attempts=2, base=0.01, cap=0.01, jitter=0.0, timeout=(0.5, 0.2))
    t0 = time.monotonic()
    with pytest.raises(HttpError, match="timed out after 2 attempts"):
        session(retry=retry).get(web.url + "/slow")
    assert web.hits("/slow") == 2 and time.monotonic() - t0 < 2.0


def test_other_errors_are_not_retried_and_404_is_definitive(web, tmp_path):
    web.routes["/gone"] = Resp(404, b"")
    web.routes["/bad"] = Resp(400, b"bad request")
    s = session(tmp_path)
    with pytest.raises(NotFound):
        s.get(web.url + "/gone")
    with pytest.raises(NotFound, match="cached"):
        s.get(web.url + "/gone")
    with pytest.raises(HttpError, match="HTTP 400"):
        s.get(web.url + "/bad")
    assert web.hits("/gone") == 1 and web.hits("/bad") == 1


def test_cache_serves_reruns_without_requests_and_hides_keys(web, tmp_path):
    web.routes["/d"] = Resp(200, b'{"x": 1}', {"Content-Type": "application/json"})
    s = session(tmp_path)
    a = s.get(web.url + "/d", {"apikey": "SECRET"})
    b = session(tmp_path).get(web.url + "/d", {"apikey": "SECRET"})  # a new session: a re-run
    assert a.json() == b.json() == {"x": 1} and b.from_cache and web.hits("/d") == 1
    assert not any(b"SECRET" in p.read_bytes() or "SECRET" in p.name for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert redact("http://h/?apikey=SECRET&i=tt1") == "http://h/?apikey=***&i=tt1"
    assert session(tmp_path).get(web.url + "/d", {"apikey": "NEW"}).from_cache  # a new key reuses the cache


def test_errors_and_challenges_are_not_cached(web, tmp_path):
    web.routes["/e"] = [Resp(503, b""), Resp(503, b""), Resp(503, b""), Resp(200, b"later")]
    with pytest.raises(HttpError):
        session(tmp_path).get(web.url + "/e")
    assert session(tmp_path).get(web.url + "/e").content == b"later"


@pytest.mark.parametrize(
    "resp",
    [
        Resp(202, b"", {"x-amzn-waf-action": "challenge"}),
        Resp(202, b""),
        Resp(403, b"<html><script>window.gokuProps = {};</script><script src='challenge.js'></script></html>"),
        Resp(405, b"<html>Please solve this CAPTCHA</html>", {"x-amzn-waf-action": "captcha"}),
        Resp(503, b"<title>Just a moment...</title>"),
    ],
    ids=["waf-202-header", "empty-202", "403-challenge-page", "405-captcha", "interstitial"],
)
def test_firewall_challenges_are_detected_not_retried(web, resp):
    web.routes["/f"] = resp
    with pytest.raises(FirewallBlocked, match="firewall challenge"):
        session().get(web.url + "/f")
    assert web.hits("/f") == 1


def test_plain_403_is_an_error_not_a_challenge(web):
    web.routes["/g"] = Resp(403, b'{"status_message": "Invalid API key"}')
    with pytest.raises(HttpError) as e:
        session().get(web.url + "/g")
    assert not isinstance(e.value, FirewallBlocked)


def test_user_agent_names_the_project(web):
    web.routes["/h"] = Resp(200, b"x")
    session().get(web.url + "/h")
    ua = web.log[0][2]["User-Agent"]
    assert ua.startswith("mmimdb2-build/") and "http" not in ua.split("(")[0]


class FakeClock:
    """A clock that moves only when told (``advance``) or, with ``sleeping_moves``, when slept on;
    ``sleep`` records every wait instead of waiting, so rate-limit tests are exact on a busy machine."""

    def __init__(self, *, sleeping_moves: bool = False) -> None:
        self.now, self.sleeps, self.sleeping_moves = 100.0, [], sleeping_moves
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            if self.sleeping_moves:
                self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_rate_limit_is_per_host_and_shared_by_threads(web):
    """Six threads of one session at 20 requests/s: each waits its own 50 ms slot, none shares one,
    and another host is not held up (a fake clock: nothing here depends on the machine's load)."""
    web.routes["/r"] = Resp(200, b"x")
    clock = FakeClock()  # frozen: every request is asked for at the same instant
    limiter = HostRateLimiter(20.0, clock=clock, sleep=clock.sleep)
    s = PoliteSession(limiter, None, FAST_RETRY)
    threads = [threading.Thread(target=s.get, args=(web.url + "/r",)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert web.hits("/r") == 6
    assert sorted(clock.sleeps) == pytest.approx([0.05, 0.10, 0.15, 0.20, 0.25])  # the first goes at once
    assert limiter.wait("other-host") == 0.0 and len(clock.sleeps) == 5  # another host is not held up
    assert limiter.wait(web.url.split("//")[1]) == pytest.approx(0.30)  # the seventh slot of the shared host


def test_rate_limit_frees_a_slot_as_time_passes():
    clock = FakeClock(sleeping_moves=True)
    limiter = HostRateLimiter(2.0, clock=clock, sleep=clock.sleep)
    assert [limiter.wait("h") for _ in range(3)] == [0.0, 0.5, 0.5]  # one thread: each waits out the interval
    clock.advance(0.2)
    assert limiter.wait("h") == pytest.approx(0.3)  # part of the interval has passed already
    clock.advance(5.0)
    assert limiter.wait("h") == 0.0 and clock.sleeps == pytest.approx([0.5, 0.5, 0.3])


def test_retry_after_forms_and_validation():
    assert parse_retry_after("7") == 7.0
    assert 9.0 <= parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) <= 11.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    with pytest.raises(ValueError, match="'rate' parameter"):
        HostRateLimiter(0)


def test_retry_policy_refuses_bad_values():
    with pytest.raises(ValueError, match="'attempts' parameter"):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError, match=">= 0"):
        RetryPolicy(base=-1.0)


def test_a_host_that_never_answers_is_reported_unreachable():
    import socket

    from mmimdb2.builder.http import Unreachable

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(Unreachable, match="connection failed"):
        session().get(f"http://127.0.0.1:{port}/x")
