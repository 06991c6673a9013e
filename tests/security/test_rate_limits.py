"""Rate limits for everyone: a verified key by its id, anyone else by client address (behind a
trusted proxy, the address it forwards), in tokens weighted by what a request costs. Each test
builds its own app with its own low limits; the suite's shared app has limits no test reaches."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.datastructures import Headers

from server.main import create_app
from server.security.limits import TokenBuckets, client_address, route_group
from server.settings import ROUTE_COSTS, SecuritySettings
from tests.conftest import make_settings


@contextmanager
def limited_app(database_url: str, **limits: Any) -> Iterator[FastAPI]:
    settings = make_settings(database_url)
    settings.security = SecuritySettings(**{"rate_per_second": 0.001, "rate_burst": 5,
                                            "anonymous_rate_per_second": 0.001,
                                            "anonymous_burst": 10, **limits})
    app = create_app(settings)
    with TestClient(app):  # runs the lifespan
        yield app


def _from(app: FastAPI, address: str) -> TestClient:
    return TestClient(app, client=(address, 40000))


def _refused(response: Any) -> bool:
    if response.status_code != 429:
        return False
    assert response.json()["code"] == "rate_limited" and int(response.headers["retry-after"]) >= 1
    return True


def test_forged_secrets_for_a_key_id_cannot_lock_the_key_out(database_url: str,
                                                             api_keys: dict[str, str]) -> None:
    key, key_id = api_keys["planner"], api_keys["planner_id"]
    with limited_app(database_url) as app:
        owner, attacker = _from(app, "192.0.2.10"), _from(app, "198.51.100.7")
        assert owner.get("/health", headers={"X-API-Key": key}).status_code == 200  # verified
        forged = {"X-API-Key": f"truce_{key_id}_{'W' * 43}"}
        codes = [attacker.get("/health", headers=forged).status_code for _ in range(25)]
        assert codes[:10] == [401] * 10 and codes[10:] == [429] * 15  # limited by address
        assert [owner.get("/health", headers={"X-API-Key": key}).status_code
                for _ in range(5)] == [200] * 5  # the key's own bucket, untouched
        # from the attacker's own address too: the verified key is limited by its id
        assert attacker.get("/health", headers={"X-API-Key": key}).status_code == 429  # its 6th
        fresh = _from(app, "203.0.113.3")
        other = {"Authorization": f"Bearer {api_keys['analyst']}"}
        assert fresh.get("/health", headers=other).status_code == 200


def test_anonymous_callers_are_limited_by_address(database_url: str) -> None:
    with limited_app(database_url) as app:
        one, two = _from(app, "192.0.2.20"), _from(app, "192.0.2.21")
        codes = [one.get("/health").status_code for _ in range(11)]
        assert codes == [200] * 10 + [429]
        assert _refused(one.get("/conformance"))
        assert two.get("/health").status_code == 200
        v6a, v6b = _from(app, "2001:db8:1:2::1"), _from(app, "2001:db8:1:2::ffff")
        assert [v6a.get("/health").status_code for _ in range(10)] == [200] * 10
        assert _refused(v6b.get("/health"))  # the same /64


def test_forwarded_for_is_used_only_from_a_trusted_proxy(database_url: str) -> None:
    with limited_app(database_url, anonymous_burst=2,
                     trusted_proxies=["10.1.0.0/16", "2001:db8:ff::/48"]) as app:
        untrusted, proxy = _from(app, "10.2.0.1"), _from(app, "10.1.0.7")
        # an untrusted peer cannot pick its bucket by sending X-Forwarded-For
        codes = [untrusted.get("/health", headers={"X-Forwarded-For": f"203.0.113.{i}"}
                               ).status_code for i in range(3)]
        assert codes == [200, 200, 429]
        # through the proxy, each client has its own bucket (the right-most untrusted hop)
        for i in range(4):
            chain = {"X-Forwarded-For": f"198.51.100.{i}, 10.1.3.4"}
            assert proxy.get("/health", headers=chain).status_code == 200
        # what the client itself wrote (left of the hop the proxy added) is not believed
        spoofs = [proxy.get("/health", headers={"X-Forwarded-For": f"1.2.3.{i}, 192.0.2.99"}
                            ).status_code for i in range(3)]
        assert spoofs == [200, 200, 429]


def test_client_address_picks_the_right_most_untrusted_hop() -> None:
    nets = (ipaddress.ip_network("10.0.0.0/8"),)

    def who(peer: str, forwarded: str | None) -> str:
        raw = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
        return client_address({"client": (peer, 1), "headers": raw}, Headers(raw=raw), nets)

    assert who("10.0.0.1", "203.0.113.9, 10.0.0.2") == "203.0.113.9"
    assert who("10.0.0.1", "6.6.6.6, 203.0.113.9") == "203.0.113.9"
    assert who("10.0.0.1", None) == "10.0.0.1"
    assert who("10.0.0.1", "10.0.0.3, 10.0.0.2") == "10.0.0.3"  # all trusted: the first
    assert who("192.0.2.1", "203.0.113.9") == "192.0.2.1"  # untrusted peer: header ignored
    assert who("testclient", "203.0.113.9") == "testclient"


def test_a_heavy_request_uses_more_of_the_bucket(database_url: str) -> None:
    with limited_app(database_url, anonymous_burst=12) as app:
        def left_after(address: str, method: str, url: str, **extra: Any) -> int:
            client = _from(app, address)
            assert client.request(method, url, **extra).status_code in (200, 204)
            count = 0
            while client.get("/conformance").status_code == 200:
                count += 1
            return count

        assert left_after("192.0.2.30", "GET", "/collections/incidents/items") == 11
        assert left_after("192.0.2.31", "GET",
                          "/collections/incidents/tiles/WebMercatorQuad/6/25/38") == 11
        assert left_after("192.0.2.32", "GET", "/analysis/nearest",
                          params={"lon": 36.7, "lat": 34.7}) == 12 - ROUTE_COSTS["analysis"]
        assert left_after("192.0.2.33", "GET", "/collections/incidents/items",
                          params={"f": "csv", "limit": 5}) == 12 - ROUTE_COSTS["exports"]
    with limited_app(database_url, anonymous_burst=12, route_costs={"analysis": 12}) as app:
        client = _from(app, "192.0.2.34")
        assert client.get("/analysis/nearest", params={"lon": 36.7, "lat": 34.7}
                          ).status_code == 200
        assert _refused(client.get("/conformance"))


def test_route_groups_and_their_costs() -> None:
    def group(path: str, query: bytes = b"", accept: str = "") -> str:
        raw = [(b"accept", accept.encode())] if accept else []
        return route_group({"path": path, "query_string": query, "headers": raw})

    assert group("/collections/incidents/tiles/WebMercatorQuad/6/25/38") == "tiles"
    assert group("/tiles/WebMercatorQuad/6/25/38") == "tiles"
    assert group("/rasters/pop/tiles/6/38/25.png") == "tiles"
    assert group("/analysis/grid/tiles/6/25/38") == "tiles"
    assert group("/analysis/hotspots") == "analysis"
    assert group("/rasters/pop/statistics") == "raster_statistics"
    assert group("/reports/areas/1/map.html") == "situation_maps"
    assert group("/collections/incidents/items", b"f=gpkg") == "exports"
    assert group("/collections/incidents/items", accept="text/csv") == "exports"
    assert group("/collections/incidents/items", b"limit=10") == "pages"
    assert group("/collections/incidents/items/1", b"f=csv") == "default"
    assert ROUTE_COSTS["tiles"] <= ROUTE_COSTS["default"] < ROUTE_COSTS["analysis"]
    assert ROUTE_COSTS["default"] < min(ROUTE_COSTS["exports"], ROUTE_COSTS["raster_statistics"])


def test_token_buckets_weigh_costs_and_refill() -> None:
    buckets = TokenBuckets(rate=1.0, burst=10)
    assert buckets.take("a", 10, now=0.0) == 0
    assert buckets.take("a", 1, now=0.0) == pytest.approx(1.0)
    assert buckets.take("a", 5, now=2.0) == pytest.approx(3.0)  # 2 tokens back, 5 asked
    assert buckets.take("a", 50, now=100.0) == 0  # a cost over the burst takes the burst


def test_limit_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="CIDR"):
        SecuritySettings(trusted_proxies=["10.0.0.0/33"])
    with pytest.raises(ValidationError, match="unknown route group"):
        SecuritySettings(route_costs={"everything": 1})
    merged = SecuritySettings(route_costs={"analysis": 2}).route_costs
    assert merged == {**ROUTE_COSTS, "analysis": 2}


def test_pages_are_charged_by_their_rows_and_every_answer_says_what_is_left(
        database_url: str, sample_loaded: list[object]) -> None:
    with limited_app(database_url, anonymous_burst=12) as app:
        client = _from(app, "192.0.2.40")
        first = client.get("/collections/incidents/items", params={"limit": 1000})
        assert first.status_code == 200 and len(first.json()["features"]) == 1000
        # 0.05 for the request, 1 per 1,000 rows returned: 12 - 1.05 leaves 10 whole tokens
        assert first.headers["ratelimit-limit"] == "12"
        assert first.headers["ratelimit-remaining"] == "10"
        assert int(first.headers["ratelimit-reset"]) >= 1
        assert first.headers["ratelimit-policy"].startswith("12;w=")
        small = [client.get("/collections/incidents/items", params={"limit": 10})
                 for _ in range(20)]  # 20 pages of 10 rows: 0.06 each
        assert all(r.status_code == 200 for r in small)
        assert small[-1].headers["ratelimit-remaining"] == "9"
        # a heavy question still runs out, with Retry-After and the headers
        answers = [client.get("/analysis/nearest", params={"lon": 36.7, "lat": 34.7})
                   for _ in range(3)]
        assert [r.status_code for r in answers[:1]] == [200]
        refused = next(r for r in answers if r.status_code == 429)
        assert _refused(refused)
        assert int(refused.headers["ratelimit-remaining"]) < ROUTE_COSTS["analysis"]
        assert int(refused.headers["ratelimit-reset"]) >= 1


def test_an_answer_charged_after_it_ran_can_leave_a_debt() -> None:
    buckets = TokenBuckets(rate=1.0, burst=10)
    assert buckets.take("a", 1, now=0.0) == 0
    assert buckets.charge("a", 15, now=0.0) == -6  # charged whatever is left
    assert buckets.take("a", 1, now=1.0) == pytest.approx(6.0)  # the debt is waited out
    assert buckets.charge("a", 1000, now=1.0) == -10  # never more than a burst of debt
    assert buckets.level("b", now=0.0) == 10


def test_a_limit_of_unicode_digits_is_grouped_not_a_crash() -> None:
    """`limit=²` is a digit to str.isdigit but not a number to int(): the route group decides
    without raising (the route itself then answers 400)."""
    from server.security.limits import route_group

    scope = {"path": "/collections/incidents/items", "query_string": "limit=²".encode(),
             "headers": [], "method": "GET"}
    assert route_group(scope) == "pages"
