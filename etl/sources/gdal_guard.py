"""GDAL opened with only the drivers a file's format needs, and no network.

GDAL picks a driver by a file's content, not its name: an XML `OGRVRTDataSource` named `x.gpkg`
would be opened by the VRT driver and read any file or URL it names, and a GeoJSON's
`"crs": {"type": "link"}` makes GDAL fetch the URL it gives. So while the loader reads a vector
file, the GDAL that pyogrio bundles has only the drivers of that file's format registered, and its
HTTP client refuses every request (CPLHTTPSetFetchCallback). Both are undone when the read ends,
so other users of pyogrio in the same process (tests, geopandas) see GDAL as it was.

pyogrio exposes neither GDALOpenEx's allowed-drivers list nor the driver manager, so this talks to
the same shared library through ctypes. If that library cannot be found, every read is refused:
the loader never opens a vector file with GDAL unguarded."""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .tabular import SourceError

#: The GDAL drivers of each vector format the loader reads with GDAL (KML has its own reader).
DRIVERS: dict[str, tuple[str, ...]] = {
    "geojson": ("GeoJSON", "GeoJSONSeq"),
    "gpkg": ("GPKG",),
    "shp": ("ESRI Shapefile",),
}

# Config options that keep even an allowed driver local: no SQLite access to other files or
# extensions, no HTTP through /vsicurl/ and its kind (no extension is "allowed" there).
_CONFIG = {
    "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": "NO",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".truce-no-network",
    "GDAL_HTTP_MAX_RETRY": "0",
    "OGR_GEOJSON_MAX_OBJ_SIZE": "200",  # MB: GDAL's own default, said explicitly
}

_FETCH = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p,
                          ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)


class _Gdal:
    """The driver manager and HTTP hook of pyogrio's GDAL."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self.lib = lib
        lib.GDALGetDriverCount.restype = ctypes.c_int
        lib.GDALGetDriver.restype = ctypes.c_void_p
        lib.GDALGetDriver.argtypes = [ctypes.c_int]
        lib.GDALGetDescription.restype = ctypes.c_char_p
        lib.GDALGetDescription.argtypes = [ctypes.c_void_p]
        lib.GDALDeregisterDriver.argtypes = [ctypes.c_void_p]
        lib.GDALRegisterDriver.argtypes = [ctypes.c_void_p]
        lib.GDALRegisterDriver.restype = ctypes.c_int
        lib.CPLHTTPSetFetchCallback.argtypes = [_FETCH, ctypes.c_void_p]
        lib.CPLGetConfigOption.restype = ctypes.c_char_p
        lib.CPLGetConfigOption.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        lib.CPLSetConfigOption.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        lib.CPLCalloc.restype = ctypes.c_void_p
        lib.CPLCalloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
        lib.CPLStrdup.restype = ctypes.c_void_p
        lib.CPLStrdup.argtypes = [ctypes.c_char_p]
        # Kept referenced: GDAL calls it for as long as it is installed.
        self.refuse = _FETCH(_refuse_fetch)
        self.requests: list[str] = []

    def drivers(self) -> list[tuple[str, int]]:
        handles = [self.lib.GDALGetDriver(i) for i in range(self.lib.GDALGetDriverCount())]
        return [(self.lib.GDALGetDescription(h).decode(), h) for h in handles]

    def keep_only(self, names: tuple[str, ...]) -> list[int]:
        """Deregister every driver not in `names`; return every driver as it was, in order."""
        before = [handle for _, handle in self.drivers()]
        for name, handle in self.drivers():
            if name not in names:
                self.lib.GDALDeregisterDriver(handle)
        return before

    def restore(self, before: list[int]) -> None:
        """Every driver of `before` registered again, in its order (GDAL tries them in order)."""
        for _, handle in self.drivers():
            self.lib.GDALDeregisterDriver(handle)
        for handle in before:
            self.lib.GDALRegisterDriver(handle)

    def set_config(self, values: dict[str, str | None]) -> dict[str, str | None]:
        old: dict[str, str | None] = {}
        for key, value in values.items():
            current = self.lib.CPLGetConfigOption(key.encode(), None)
            old[key] = current.decode() if current is not None else None
            self.lib.CPLSetConfigOption(key.encode(), value.encode() if value is not None else None)
        return old


# CPLHTTPResult: int nStatus; char *pszContentType; char *pszErrBuf; ... (GDAL frees it with
# CPLHTTPDestroyResult: every pointer left NULL but the error text).
_RESULT_SIZE = 128
_ERRBUF_OFFSET = 2 * ctypes.sizeof(ctypes.c_void_p)


def _refuse_fetch(url: bytes | None, *_: object) -> int | None:
    """GDAL's HTTP client while a file is read: no request is made, GDAL gets a failed result
    (a NULL result would make GDAL fetch the URL itself)."""
    gdal = _gdal
    if gdal is None:
        return None
    gdal.requests.append((url or b"").decode("utf-8", "replace"))
    result = gdal.lib.CPLCalloc(1, _RESULT_SIZE)
    ctypes.c_int.from_address(result).value = -1
    ctypes.c_void_p.from_address(result + _ERRBUF_OFFSET).value = gdal.lib.CPLStrdup(
        b"Truce reads no URL from inside a file")
    return int(result)


def _load() -> _Gdal | None:
    import pyogrio

    libs = Path(pyogrio.__file__).resolve().parent.parent / "pyogrio.libs"
    candidates = sorted(libs.glob("libgdal*")) if libs.is_dir() else []
    names = [str(c) for c in candidates] or ["libgdal.so"]
    for name in names:
        try:
            lib = ctypes.CDLL(name)
            if hasattr(lib, "CPLHTTPSetFetchCallback") and hasattr(lib, "GDALDeregisterDriver"):
                return _Gdal(lib)
        except OSError:
            continue
    return None


_lock = threading.RLock()
_gdal: _Gdal | None = None
_loaded = False


def _library() -> _Gdal:
    global _gdal, _loaded
    if not _loaded:
        _gdal, _loaded = _load(), True
    if _gdal is None:
        raise SourceError("the GDAL library behind pyogrio cannot be restricted to safe drivers, "
                          "so vector files are not read; reinstall pyogrio")
    return _gdal


@contextmanager
def only(fmt: str) -> Iterator[None]:
    """Inside: pyogrio's GDAL has only `fmt`'s drivers and makes no HTTP request. Held by one
    thread at a time (GDAL's driver list is the process's)."""
    names = DRIVERS[fmt]
    with _lock:
        gdal = _library()
        before = gdal.keep_only(names)
        old = gdal.set_config(dict(_CONFIG))
        gdal.lib.CPLHTTPSetFetchCallback(gdal.refuse, None)
        try:
            yield
        finally:
            gdal.lib.CPLHTTPSetFetchCallback(_FETCH(), None)
            gdal.set_config(old)
            gdal.restore(before)


def refused_requests() -> list[str]:
    """The URLs GDAL tried to fetch while guarded (and did not), for the tests and the logs."""
    return list(_gdal.requests) if _gdal is not None else []
