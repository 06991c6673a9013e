"""In-process metrics in the Prometheus text exposition format (version 0.0.4), written here
rather than with prometheus_client (not a dependency): counters and histograms of HTTP requests
by route template, method and status, and a writer for gauges read at scrape time (pool use,
ETL runs, alert deliveries, tile cache). Labels are route templates, never raw paths, so the
number of series stays bounded whatever clients ask for."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: request latency buckets, seconds
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

Labels = tuple[tuple[str, str], ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Labels | Mapping[str, str]) -> str:
    items = labels.items() if isinstance(labels, Mapping) else labels
    inner = ",".join(f'{name}="{_escape(str(value))}"' for name, value in items)
    return f"{{{inner}}}" if inner else ""


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class Exposition:
    """Builds one exposition document: each family once, with its HELP and TYPE lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str,
               samples: Iterable[tuple[Labels | Mapping[str, str], float]],
               suffix: str = "") -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            self.lines.append(f"{name}{suffix}{_labels(labels)} {_number(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


class RequestMetrics:
    """Request counts and latency histograms, by (method, route template, status)."""

    def __init__(self, buckets: tuple[float, ...] = BUCKETS) -> None:
        self.buckets = buckets
        self._lock = threading.Lock()
        # labels -> [count per bucket..., +Inf count, sum]
        self._series: dict[Labels, list[float]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key: Labels = (("method", method), ("route", route), ("status", str(status)))
        with self._lock:
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = [0.0] * (len(self.buckets) + 2)
            for i, bound in enumerate(self.buckets):
                if seconds <= bound:
                    series[i] += 1
            series[-2] += 1
            series[-1] += seconds

    def write(self, out: Exposition) -> None:
        with self._lock:
            snapshot = {k: list(v) for k, v in sorted(self._series.items())}
        out.family("truce_http_requests_total", "counter",
                   "HTTP requests answered, by method, route template and status",
                   ((k, v[-2]) for k, v in snapshot.items()))
        name = "truce_http_request_duration_seconds"
        out.lines.append(f"# HELP {name} time to answer an HTTP request, by method, route "
                         "template and status")
        out.lines.append(f"# TYPE {name} histogram")
        for labels, series in snapshot.items():
            for bound, count in zip(self.buckets, series, strict=False):
                out.lines.append(f"{name}_bucket{_labels((*labels, ('le', _number(bound))))} "
                                 f"{_number(count)}")
            out.lines.append(f"{name}_bucket{_labels((*labels, ('le', '+Inf')))} "
                             f"{_number(series[-2])}")
            out.lines.append(f"{name}_sum{_labels(labels)} {_number(series[-1])}")
            out.lines.append(f"{name}_count{_labels(labels)} {_number(series[-2])}")
