"""The API's HTML pages (issue 16): landing page, collections, a collection, its items (a table
and a small map, paged) and an item, for `Accept: text/html` or `f=html`, in the viewer's three
languages (Arabic right to left), offline (only the server's own files) and under the default
Content-Security-Policy (no inline script or style)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient

ITEMS = "/collections/incidents/items"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


class _Page(HTMLParser):
    """What a check needs of a page: its elements' attributes, the text of its data blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.blocks: dict[str, str] = {}
        self._block: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.elements.append((tag, found))
        if tag == "script" and "src" not in found:
            self._block = found.get("id", "")
            self.blocks[self._block] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._block = None

    def handle_data(self, data: str) -> None:
        if self._block is not None:
            self.blocks[self._block] += data
        else:
            self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.elements if name == tag]


def _page(client: TestClient, path: str, **kwargs: Any) -> tuple[_Page, str]:
    response = client.get(path, **kwargs)
    assert response.status_code == 200, (path, response.text[:300])
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self';" in response.headers["content-security-policy"]
    parsed = _Page()
    parsed.feed(response.text)
    _offline_and_no_inline_code(parsed, str(client.base_url))
    return parsed, response.text


def _offline_and_no_inline_code(page: _Page, base: str) -> None:
    for tag, attrs in page.elements:
        assert "style" not in attrs, (tag, attrs)  # style-src 'self': no inline style
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        for name in ("src", "href"):
            url = attrs.get(name, "")
            if url.startswith(("http:", "https:", "//")):
                assert url.startswith(base), (tag, url)  # nothing from elsewhere
        if tag == "script" and "src" not in attrs:
            assert attrs.get("type") == "application/geo+json", attrs  # data only, never run
    assert all(tag != "style" for tag, _ in page.elements)


@pytest.mark.parametrize("path", ["/?f=html", "/collections", "/collections/incidents",
                                  ITEMS + "?limit=5", ITEMS + "/{fid}"])
def test_every_page_is_served_for_accept_html_or_f_html(client: TestClient, path: str) -> None:
    fid = client.get(ITEMS, params={"limit": 1}).json()["features"][0]["id"]
    path = path.replace("{fid}", str(fid))
    by_accept = client.get(path, headers=BROWSER) if path != "/?f=html" else None
    sep = "&" if "?" in path else "?"
    by_f = client.get(path if "f=html" in path else f"{path}{sep}f=html")
    for response in filter(None, (by_accept, by_f)):
        assert response.status_code == 200 and response.headers["content-type"].startswith(
            "text/html"), (path, response.text[:200])
        assert "accept" in response.headers["vary"].lower()
    as_json = client.get(path.replace("f=html", "f=json"), headers={"Accept": "application/json"})
    assert not as_json.headers["content-type"].startswith("text/html")


def test_a_browser_at_the_root_still_gets_the_map_viewer(client: TestClient) -> None:
    response = client.get("/", headers=BROWSER)
    assert 'id="map"' in response.text and "/static/app.js" in response.text


def test_landing_page_links_the_collections_docs_and_viewer(client: TestClient) -> None:
    page, _ = _page(client, "/?f=html")
    hrefs = [a["href"] for a in page.all("a")]
    assert any(h.endswith("/collections?f=html") for h in hrefs)
    assert any(h.endswith("/api.html") for h in hrefs) and any(h.endswith("/api") for h in hrefs)


def test_collections_page_lists_every_collection(client: TestClient) -> None:
    page, text = _page(client, "/collections", headers=BROWSER)
    ids = {c["id"] for c in client.get("/collections").json()["collections"]}
    for cid in ids:
        assert f"/collections/{cid}?f=html" in text and f"/collections/{cid}/items?f=html" in text
    assert len(page.all("tr")) == len(ids) + 1


def test_items_page_has_a_table_a_map_and_pages(client: TestClient) -> None:
    page, text = _page(client, ITEMS, params={"f": "html", "limit": 7,
                                               "event_type": "state_based_violence"})
    assert len(page.all("tr")) == 8  # the head and 7 features
    (map_div,) = [d for d in page.all("div") if d.get("id") == "map"]
    assert map_div["data-tiles"].startswith(str(client.base_url))
    data = json.loads(page.blocks["features"])
    assert len(data["features"]) == 7
    assert {f["properties"]["event_type"] for f in data["features"]} == {"state_based_violence"}
    scripts = [s["src"] for s in page.all("script") if "src" in s]
    assert any(s.endswith("/static/vendor/maplibre-gl/4.7.1/maplibre-gl.js") for s in scripts)
    assert any(s.endswith("/static/api-pages/pages.js") for s in scripts)
    for src in scripts + [link["href"] for link in page.all("link") if link.get("rel") ==
                          "stylesheet"]:
        assert client.get(src).status_code == 200, src
    (nxt,) = [a["href"] for a in page.all("a") if a.get("rel") == "next"]
    assert "f=html" in nxt and "cursor=" in nxt and "event_type=state_based_violence" in nxt
    second, _ = _page(client, nxt)
    ids = {f["id"] for f in data["features"]}
    assert ids.isdisjoint({f["id"] for f in json.loads(second.blocks["features"])["features"]})
    assert [a for a in second.all("a") if a.get("rel") == "prev"]
    row_links = [a["href"] for a in page.all("a") if "/items/" in a["href"]]
    assert len(row_links) == 7 and all("f=html" in h for h in row_links)
    assert "</script>" not in page.blocks["features"]


def test_item_page_shows_every_property_and_the_feature(client: TestClient) -> None:
    feature = client.get(ITEMS, params={"limit": 1}).json()["features"][0]
    page, _ = _page(client, f"{ITEMS}/{feature['id']}", params={"f": "html"})
    names = [t.strip() for t in page.text if t.strip()]
    for name in feature["properties"]:
        assert name in names, name
    shown = json.loads(page.blocks["features"])
    assert shown["id"] == feature["id"] and shown["geometry"] == feature["geometry"]


@pytest.mark.parametrize(("how", "lang", "direction", "label"), [
    ({"params": {"lang": "ar"}}, "ar", "rtl", "المجموعات"),
    ({"headers": {**BROWSER, "Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}}, "ru", "ltr",
     "Коллекции"),
    ({"headers": {**BROWSER, "Accept-Language": "de-DE,ar;q=0.7"}}, "ar", "rtl", "المجموعات"),
    ({"headers": {**BROWSER, "Accept-Language": "fr"}}, "en", "ltr", "Collections"),
])
def test_pages_speak_the_viewers_languages(client: TestClient, how: dict[str, Any], lang: str,
                                           direction: str, label: str) -> None:
    kwargs = dict(how)
    if "params" in kwargs:
        kwargs["params"] = {**kwargs["params"], "f": "html"}
    page, text = _page(client, "/collections", **kwargs)
    (html,) = page.all("html")
    assert html["lang"] == lang and html["dir"] == direction
    assert label in text
    catalogue = json.loads(client.get(f"/static/i18n/{lang}.json").text)
    assert catalogue["layer.incidents"] in text  # the viewer's own catalogue
    others = [a for a in page.all("a") if a.get("hreflang")]
    assert {a["hreflang"] for a in others} == {"en", "ar", "ru"} - {lang}


def test_items_page_in_arabic_keeps_its_language_across_pages(client: TestClient) -> None:
    page, text = _page(client, ITEMS, params={"f": "html", "lang": "ar", "limit": 3})
    assert 'dir="rtl"' in text
    (nxt,) = [a["href"] for a in page.all("a") if a.get("rel") == "next"]
    assert "lang=ar" in nxt
    vocab = json.loads(client.get("/static/i18n/ar.json").text)
    codes = {f["properties"]["event_type"] for f in json.loads(page.blocks["features"])["features"]}
    assert any(vocab[f"vocab.event_type.{code}"] in text for code in codes)


def test_html_errors_stay_json(client: TestClient) -> None:
    for path in ("/collections/nope", "/collections/nope/items", ITEMS + "/999999999"):
        response = client.get(path, headers=BROWSER)
        assert response.status_code == 404 and response.json()["description"], path
    bad = client.get(ITEMS, params={"f": "html", "limit": "x"})
    assert bad.status_code == 400 and bad.json()["description"]


def test_pages_js_is_served_and_has_no_remote_resource(client: TestClient) -> None:
    js = client.get("/static/api-pages/pages.js").text
    css = client.get("/static/api-pages/pages.css").text
    assert not re.search(r"https?://", js + css)
