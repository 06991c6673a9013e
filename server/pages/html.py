"""The API's HTML pages, built from the JSON documents the API answers (no database, no HTTP):
what QGIS, a browser or a partner following a `text/html` link reads.

Every page is in one of the viewer's languages (its catalogues in `web/static/i18n`: `api.*`
labels, `layer.*` titles, `vocab.*` codes; Arabic is right to left), styled like the viewer,
offline (its files are the server's own: `/static/api-pages/`, MapLibre under
`/static/vendor/`), and has no inline script or style: the features a map shows are a JSON data
block, which no browser runs, so the default Content-Security-Policy holds."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

LANGUAGES = ("en", "ar", "ru")
RTL = {"ar"}
MAPLIBRE = "/static/vendor/maplibre-gl/4.7.1"


@lru_cache(maxsize=8)
def _catalogue(path: str, mtime_ns: int) -> dict[str, str]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data.items()}


def catalogue(web_dir: str | None, lang: str) -> dict[str, str]:
    """The viewer's catalogue of `lang` (English for a key it lacks); {} without the files."""
    if not web_dir:
        return {}
    out: dict[str, str] = {}
    for name in ("en", lang) if lang != "en" else ("en",):
        path = Path(web_dir) / "i18n" / f"{name}.json"
        if path.is_file():
            out |= _catalogue(str(path), path.stat().st_mtime_ns)
    return out


def choose_language(asked: str | None, accept_language: str | None) -> str:
    """`lang=` when it names one of the languages, else the first of Accept-Language that does,
    else English."""
    if asked in LANGUAGES:
        return str(asked)
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, i, tag.strip().lower().split("-")[0]))
    for _, _, tag in sorted(ranked):
        if tag in LANGUAGES:
            return tag
    return "en"


@dataclass(frozen=True)
class Page:
    """What every page needs: the language, its labels, the server's base URL and the URL of
    the page itself (for the language links)."""

    lang: str
    labels: dict[str, str]
    base: str
    url: str

    def t(self, key: str, fallback: str | None = None, **values: object) -> str:
        text = self.labels.get(key, fallback if fallback is not None else key)
        for name, value in values.items():
            text = text.replace(f"{{{name}}}", str(value))
        return text

    @property
    def dir(self) -> str:
        return "rtl" if self.lang in RTL else "ltr"

    def html_url(self, href: str, **extra: str) -> str:
        """`href` as an HTML page in this page's language (f=html, lang kept)."""
        parts = urlsplit(href)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                 if k not in ("f", "lang", *extra)]
        query += [("f", "html"), *(() if self.lang == "en" else (("lang", self.lang),)),
                  *extra.items()]
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))

    def json_url(self, href: str) -> str:
        parts = urlsplit(href)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                 if k not in ("f", "lang")]
        return urlunsplit((parts.scheme, parts.netloc, parts.path,
                           urlencode([*query, ("f", "json")]), ""))


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _a(href: str, text: str, **attrs: str) -> str:
    extra = "".join(f' {k.rstrip("_").replace("_", "-")}="{_e(v)}"' for k, v in attrs.items())
    return f'<a href="{_e(href)}"{extra}>{_e(text)}</a>'


def _document(page: Page, title: str, crumbs: list[tuple[str, str]], body: str, *,
              json_href: str, with_map: bool = False) -> str:
    head_map = ""
    if with_map:
        head_map = (f'<link rel="stylesheet" href="{_e(page.base + MAPLIBRE)}/maplibre-gl.css">'
                    f'<script src="{_e(page.base + MAPLIBRE)}/maplibre-gl.js" defer></script>'
                    f'<script src="{_e(page.base)}/static/api-pages/pages.js" defer></script>')
    trail = " <span aria-hidden=\"true\">›</span> ".join(
        [_a(href, text) for href, text in crumbs[:-1]]
        + [f'<span aria-current="page">{_e(crumbs[-1][1])}</span>'] if crumbs else [])
    langs = " ".join(
        f'<span class="current" lang="{code}">{_e(page.t(f"language.{code}", code))}</span>'
        if code == page.lang else
        _a(page.html_url(page.url, lang=code), page.t(f"language.{code}", code), lang=code,
           hreflang=code)
        for code in LANGUAGES)
    return (
        "<!doctype html>\n"
        f'<html lang="{_e(page.lang)}" dir="{page.dir}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)} · Truce</title>"
        f'<link rel="stylesheet" href="{_e(page.base)}/static/api-pages/pages.css">'
        f'<link rel="alternate" type="application/json" href="{_e(json_href)}">'
        f"{head_map}</head><body>"
        '<header class="topbar"><span class="brand">'
        f'{_a(page.html_url(page.base + "/"), "Truce")}</span>'
        f'<nav class="crumbs" aria-label="{_e(page.t("api.breadcrumbs", "Path"))}">{trail}</nav>'
        f'<nav class="langs" aria-label="{_e(page.t("language.label", "Language"))}">{langs}</nav>'
        "</header>"
        f'<main><h1>{_e(title)}</h1>{body}<p class="formats">'
        f'{_a(json_href, page.t("api.as_json", "This page as JSON"), type="application/json")}'
        "</p></main></body></html>\n")


def _links_list(page: Page, items: Iterable[tuple[str, str, str | None]]) -> str:
    rows = "".join(f"<li>{_a(href, text, **({'type': kind} if kind else {}))}</li>"
                   for href, text, kind in items)
    return f'<ul class="links">{rows}</ul>'


def landing(page: Page, doc: dict[str, Any]) -> str:
    base = page.base
    body = (f'<p class="lead">{_e(page.t("api.landing_lead", doc.get("description", "")))}</p>'
            + _links_list(page, [
                (page.html_url(f"{base}/collections"), page.t("api.collections", "Collections"),
                 "text/html"),
                (f"{base}/", page.t("api.viewer", "Map viewer"), "text/html"),
                (f"{base}/api.html", page.t("api.docs", "API documentation"), "text/html"),
                (f"{base}/api", page.t("api.definition", "API definition (OpenAPI 3.0)"),
                 "application/vnd.oai.openapi+json;version=3.0"),
                (f"{base}/conformance", page.t("api.conformance", "Conformance classes"),
                 "application/json"),
                (f"{base}/tileMatrixSets", page.t("api.tile_matrix_sets", "Tiling schemes"),
                 "application/json"),
            ]))
    return _document(page, page.t("api.title", "Truce map API"),
                     [(page.html_url(base + "/"), page.t("api.home", "API"))], body,
                     json_href=f"{base}/?f=json")


def _collection_title(page: Page, c: dict[str, Any]) -> str:
    return page.t(f"layer.{c['id']}", c.get("title") or c["id"])


def collections(page: Page, doc: dict[str, Any]) -> str:
    base = page.base
    rows = ""
    for c in doc["collections"]:
        own = f"{base}/collections/{c['id']}"
        rows += (f"<tr><td>{_a(page.html_url(own), _collection_title(page, c))}</td>"
                 f"<td>{_e(c.get('description', ''))}</td>"
                 f"<td>{_a(page.html_url(own + '/items'), page.t('api.items', 'Features'))}"
                 "</td></tr>")
    body = (f'<table class="data"><thead><tr><th scope="col">{_e(page.t("api.collection", "Collection"))}'
            f'</th><th scope="col">{_e(page.t("api.description", "Description"))}</th>'
            f'<th scope="col">{_e(page.t("api.items", "Features"))}</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>")
    return _document(page, page.t("api.collections", "Collections"), [
        (page.html_url(base + "/"), page.t("api.home", "API")),
        (page.html_url(f"{base}/collections"), page.t("api.collections", "Collections"))],
        body, json_href=f"{base}/collections?f=json")


def collection(page: Page, doc: dict[str, Any]) -> str:
    base = page.base
    cid = doc["id"]
    href = f"{base}/collections/{cid}"
    title = _collection_title(page, doc)
    bbox = doc["extent"]["spatial"]["bbox"][0]
    facts = [(page.t("api.description", "Description"), _e(doc.get("description", ""))),
             (page.t("api.extent", "Extent"),
              _e(", ".join(f"{v:.4f}" for v in bbox)) + " <small>(CRS84)</small>")]
    temporal = doc["extent"].get("temporal")
    if temporal:
        start, end = temporal["interval"][0]
        facts.append((page.t("api.time_span", "Time span"), _e(f"{start or '..'} / {end or '..'}")))
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in facts)
    body = (f'<dl class="facts">{dl}</dl>'
            + _links_list(page, [
                (page.html_url(f"{href}/items"), page.t("api.browse", "Browse the features"),
                 "text/html"),
                (f"{href}/items?f=json", "GeoJSON", "application/geo+json"),
                (f"{href}/items?f=csv", "CSV", "text/csv"),
                (f"{href}/items?f=gpkg", "GeoPackage", "application/geopackage+sqlite3"),
                (f"{href}/items?f=fgb", "FlatGeobuf", "application/flatgeobuf"),
                (f"{href}/queryables", page.t("api.queryables", "Queryable properties"),
                 "application/schema+json"),
                (f"{href}/tiles", page.t("api.tiles", "Vector tiles"), "application/json"),
            ]))
    return _document(page, title, [
        (page.html_url(base + "/"), page.t("api.home", "API")),
        (page.html_url(f"{base}/collections"), page.t("api.collections", "Collections")),
        (page.html_url(href), title)], body, json_href=f"{href}?f=json")


def _value(page: Page, name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_value(page, name, v) for v in value)
    if isinstance(value, str):
        return page.t(f"vocab.{name}.{value}", value)
    return str(value)


def _data_block(features: dict[str, Any]) -> str:
    """The features as a JSON data block (not run by a browser); `<` escaped so that no text
    in the data can end the element."""
    raw = json.dumps(features, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    return f'<script type="application/geo+json" id="features">{raw}</script>'


def _map(page: Page, label: str, features: dict[str, Any]) -> str:
    tiles = f"{page.base}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}?collections=admin_areas"
    return (f'<div id="map" class="map" role="img" aria-label="{_e(label)}" '
            f'data-tiles="{_e(tiles)}"></div>{_data_block(features)}')


def items(page: Page, c: dict[str, Any], doc: dict[str, Any], names: list[str]) -> str:
    """A page of features: a small map, a table (the id links to the feature's page), the
    counts and the next/previous links (as HTML pages, the query kept)."""
    base = page.base
    cid = c["id"]
    href = f"{base}/collections/{cid}"
    title = _collection_title(page, c)
    features = doc["features"]
    head = "".join(f'<th scope="col">{_e(n)}</th>' for n in ["id", *names])
    rows = "".join(
        "<tr><td>" + _a(page.html_url(f"{href}/items/{f['id']}"), str(f["id"])) + "</td>"
        + "".join(f"<td>{_e(_value(page, n, f['properties'].get(n)))}</td>" for n in names)
        + "</tr>" for f in features)
    count = page.t("api.returned", "{n} features on this page", n=doc["numberReturned"])
    if "numberMatched" in doc:
        count += " · " + page.t("api.matched", "{n} in all", n=doc["numberMatched"])
    links = {link["rel"]: link["href"] for link in doc.get("links", [])}
    pager = "".join(
        f'<li>{_a(page.html_url(links[rel]), page.t(key, text), rel=rel)}</li>'
        for rel, key, text in (("prev", "api.prev", "Previous page"),
                               ("next", "api.next", "Next page")) if rel in links)
    table = (f'<div class="table-wrap"><table class="data"><thead><tr>{head}</tr></thead>'
             f"<tbody>{rows}</tbody></table></div>" if features else
             f'<p class="empty">{_e(page.t("api.none", "No features match."))}</p>')
    body = (f'<p class="count">{_e(count)}</p>'
            + _map(page, page.t("api.map", "Map of these features"),
                   {"type": "FeatureCollection", "features": features})
            + table + f'<nav aria-label="{_e(page.t("api.pages", "Pages"))}"><ul class="pager">'
            f"{pager}</ul></nav>")
    return _document(page, f"{title}: {page.t('api.items', 'Features')}", [
        (page.html_url(base + "/"), page.t("api.home", "API")),
        (page.html_url(f"{base}/collections"), page.t("api.collections", "Collections")),
        (page.html_url(href), title),
        (page.html_url(f"{href}/items"), page.t("api.items", "Features"))], body,
        json_href=page.json_url(page.url), with_map=True)


def item(page: Page, c: dict[str, Any], feature: dict[str, Any]) -> str:
    base = page.base
    cid = c["id"]
    href = f"{base}/collections/{cid}"
    title = _collection_title(page, c)
    rows = "".join(f'<tr><th scope="row">{_e(name)}</th><td>{_e(_value(page, name, value))}</td></tr>'
                   for name, value in feature["properties"].items())
    body = (_map(page, page.t("api.map_one", "Map of this feature"), feature)
            + f'<table class="data properties"><thead><tr><th scope="col">'
            f'{_e(page.t("api.property", "Property"))}</th><th scope="col">'
            f'{_e(page.t("api.value", "Value"))}</th></tr></thead><tbody>{rows}</tbody></table>')
    fid = feature["id"]
    return _document(page, f"{title} {fid}", [
        (page.html_url(base + "/"), page.t("api.home", "API")),
        (page.html_url(f"{base}/collections"), page.t("api.collections", "Collections")),
        (page.html_url(href), title),
        (page.html_url(f"{href}/items"), page.t("api.items", "Features")),
        (page.html_url(f"{href}/items/{fid}"), str(fid))], body,
        json_href=f"{href}/items/{fid}?f=json", with_map=True)
