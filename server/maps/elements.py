"""Branca/folium elements of the report maps: title panel, legend, attribution, safe popups.

Text reaches HTML through Jinja's `e` filter and JavaScript through `tojson`; popups are built with
DOM `textContent`, never `innerHTML`, so a place name cannot inject markup."""

from __future__ import annotations

from typing import Any

from branca.element import MacroElement
from folium.template import Template
from folium.utilities import JsCode

PANEL_CSS = """
<style>
  .leaflet-container { background: #EEF1F4; font: 13px/1.35 system-ui, -apple-system, "Segoe UI",
    Roboto, "Noto Sans", "Noto Sans Arabic", sans-serif; }
  .truce-panel { position: absolute; z-index: 1000; background: rgba(255,255,255,0.95);
    border: 1px solid #888; border-radius: 4px; padding: 8px 10px; color: #111;
    box-shadow: 0 1px 4px rgba(0,0,0,0.3); font: 13px/1.35 system-ui, sans-serif; }
  .truce-title { top: 10px; left: 10px; max-width: 460px; }
  .truce-title h1 { font-size: 17px; margin: 0 0 4px 0; }
  .truce-title p { margin: 2px 0; }
  .truce-title .truce-note { color: #444; font-size: 12px; }
  .truce-legend { bottom: 30px; right: 10px; max-width: 300px; }
  .leaflet-control-attribution { font-size: 11px; }
  .truce-legend h2 { font-size: 13px; margin: 6px 0 3px 0; }
  .truce-legend h2:first-child { margin-top: 0; }
  .truce-legend ul { list-style: none; margin: 0; padding: 0; }
  .truce-legend li { display: flex; align-items: center; gap: 6px; margin: 2px 0; }
  .truce-swatch { display: inline-block; flex: none; }
  .truce-delivery-icon { background: none; border: none; }
  .truce-popup th { text-align: left; padding-right: 8px; vertical-align: top; color: #444;
    font-weight: 600; }
  .truce-popup h3 { font-size: 14px; margin: 0 0 4px 0; }
  [dir="rtl"] .truce-popup th { text-align: right; padding-right: 0; padding-left: 8px; }
  [dir="rtl"] .leaflet-popup-content, [dir="rtl"] .truce-legend li { direction: rtl; }
  @media print { .truce-panel { box-shadow: none; } }
</style>
"""

# Defined in the head, before the map script that binds it; reads only feature.properties.
POPUP_JS = """
<script>
function trucePopup(feature) {
  var p = feature.properties || {};
  var box = document.createElement("div");
  box.className = "truce-popup";
  var h = document.createElement("h3");
  h.textContent = p.title || "";
  box.appendChild(h);
  var table = document.createElement("table");
  (p.rows || []).forEach(function (row) {
    var tr = table.insertRow();
    var th = document.createElement("th");
    th.textContent = row[0];
    tr.appendChild(th);
    tr.insertCell().textContent = row[1];
  });
  box.appendChild(table);
  return box;
}
</script>
"""

BIND_POPUP = JsCode(
    "function (feature, layer) {"
    " layer.bindPopup(function () { return trucePopup(feature); }, {maxWidth: 340}); }"
)


class TitlePanel(MacroElement):
    """The report's title block: area, status, period, counts and the notes that qualify them."""

    _template = Template("""
        {% macro html(this, kwargs) %}
        <section class="truce-panel truce-title" aria-label="{{ this.label|e }}">
          <h1>{{ this.heading|e }}</h1>
          {% for line in this.lines %}<p>{{ line|e }}</p>{% endfor %}
          {% for note in this.notes %}<p class="truce-note">{{ note|e }}</p>{% endfor %}
        </section>
        {% endmacro %}
    """)

    def __init__(self, heading: str, lines: list[str], notes: list[str],
                 label: str = "Report title") -> None:
        super().__init__()
        self._name = "TitlePanel"
        self.label = label
        self.heading = heading
        self.lines = lines
        self.notes = notes


class Legend(MacroElement):
    """Sections of (swatch HTML we built, label text); the swatches are our own constant markup."""

    _template = Template("""
        {% macro html(this, kwargs) %}
        <section class="truce-panel truce-legend" aria-label="{{ this.label|e }}">
          {% for title, items in this.sections %}
          <h2>{{ title|e }}</h2>
          <ul>
            {% for swatch, text in items %}
            <li><span class="truce-swatch" aria-hidden="true">{{ swatch }}</span>{{ text|e }}</li>
            {% endfor %}
          </ul>
          {% endfor %}
        </section>
        {% endmacro %}
    """)

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]],
                 label: str = "Legend") -> None:
        super().__init__()
        self._name = "Legend"
        self.label = label
        self.sections = sections


class Attribution(MacroElement):
    """Sets the attribution control's text: plain text, no links (the file is for offline use)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.setPrefix({{ this.prefix|tojson }});
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
        {% endmacro %}
    """)

    def __init__(self, text: str, prefix: str = "Leaflet") -> None:
        super().__init__()
        self._name = "Attribution"
        self.text = text
        self.prefix = prefix


def swatch_polygon(style: dict[str, Any]) -> str:
    dash = f' stroke-dasharray="{style["dashArray"]}"' if style.get("dashArray") else ""
    return (f'<svg width="22" height="14"><rect x="1.5" y="1.5" width="19" height="11" '
            f'fill="{style["fillColor"]}" fill-opacity="{style["fillOpacity"]}" '
            f'stroke="{style["color"]}" stroke-width="2"{dash}/></svg>')


def swatch_line(style: dict[str, Any]) -> str:
    return (f'<svg width="22" height="14"><line x1="1" y1="7" x2="21" y2="7" '
            f'stroke="{style["color"]}" stroke-width="1.5" stroke-dasharray="4 3"/></svg>')


def swatch_circle(style: dict[str, Any], radius: float = 6) -> str:
    dash = f' stroke-dasharray="{style["dashArray"]}"' if style.get("dashArray") else ""
    size = int(2 * radius + 4)
    c = size / 2
    return (f'<svg width="{size}" height="{size}"><circle cx="{c}" cy="{c}" r="{radius}" '
            f'fill="{style["fillColor"]}" fill-opacity="{style["fillOpacity"]}" '
            f'stroke="{style["color"]}" stroke-width="{style["weight"]}"{dash}/></svg>')
