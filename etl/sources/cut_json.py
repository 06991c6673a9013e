"""A JSON file cut short (a download or a copy that stopped): the end of the text falls inside
a value, so no JSON parser reads it, and GDAL refuses the whole file. What a cut leaves is the
beginning of a valid document: the features before the cut are whole, and the one it falls in
is not. This module tells a cut from a file broken elsewhere, and reads what the cut left.

A value is cut when what is left of it is the beginning of a valid value: the token the end
falls in completed (half a literal, a number without its digits, an escape dropped), a value or
a key's value given where one is awaited, and the strings and brackets left open closed, it
parses. A value broken anywhere else (a bracket that does not match, a missing comma, a bad
token) fails however it is completed, and is not a cut."""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass
from typing import Any

#: a value longer than this is not looked at (a file broken early would be scanned whole)
MAX_CUT_CHARS = 8 << 20
#: an error this far before the end is in what every completion keeps: not a cut
_NEAR_END = 64
_SPACE = re.compile(r"[ \t\n\r]*")
_CLOSE = {"{": "}", "[": "]"}
_LITERALS = ("true", "false", "null")
# what completes a value the end falls after: nothing (a whole value), a number's digit,
# a value (after a colon or in a list), a key's value, a key and its value (after a comma)
_AFTER = ("", "0", "null", ":null", '"":null')


@dataclass(frozen=True)
class Cut:
    """A feature the end of the file cuts: its text, as far as it goes."""

    text: str


def _ending(rest: str) -> tuple[str, bool, str] | None:
    """(`rest` without an escape the end cuts, whether it ends inside a string, the brackets
    that close it); None when it closes before its end or closes a bracket it did not open."""
    stack: list[str] = []
    in_string = escaped = False
    hex_left = 0  # the digits a \u escape still needs
    escape_at = 0
    for i, char in enumerate(rest):
        if in_string:
            if hex_left:
                hex_left -= 1
            elif escaped:
                escaped = False
                hex_left = 4 if char == "u" else 0
            elif char == "\\":
                escaped, escape_at = True, i
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in _CLOSE:
            stack.append(char)
        elif char in "]}":
            if not stack or _CLOSE[stack.pop()] != char or not stack:
                return None
    if in_string and (escaped or hex_left):
        rest = rest[:escape_at]
    return rest, in_string, "".join(_CLOSE[c] for c in reversed(stack))


def cut_short(rest: str) -> bool:
    """Whether `rest` is the beginning of one JSON value that the end of the text cuts."""
    if not rest.strip() or len(rest) > MAX_CUT_CHARS:
        return False
    found = _ending(rest)
    if found is None:
        return False
    text, in_string, closing = found
    after: tuple[str, ...]
    if in_string:
        text, after = text + '"', ("", ":null")  # a value, or a key
    else:
        word = re.search(r"[a-z]+$", text)
        partial = word.group(0) if word else ""
        after = tuple(lit[len(partial):] for lit in _LITERALS
                      if partial and lit.startswith(partial) and lit != partial) or _AFTER
    for tail in after:
        try:
            json.loads(text + tail + closing)
        except json.JSONDecodeError as exc:
            if exc.pos < len(text) - _NEAR_END:
                return False
            continue
        except (ValueError, RecursionError):
            continue
        return True
    return False


def _skip(text: str, pos: int) -> int:
    found = _SPACE.match(text, pos)
    return found.end() if found is not None else pos


def _features(text: str, pos: int, decoder: json.JSONDecoder
              ) -> tuple[list[Any], bool] | None:
    if not text.startswith("[", pos):
        return None
    features: list[Any] = []
    pos = _skip(text, pos + 1)
    while pos < len(text):
        if text[pos] == "]":  # whole: what follows the list is all that is missing
            return (features, False) if not text[pos + 1:].strip() else None
        if features:
            if text[pos] != ",":
                return None
            pos = _skip(text, pos + 1)
            if pos == len(text):
                break
        try:
            feature, pos = decoder.raw_decode(text, pos)
        except ValueError:
            if not cut_short(text[pos:]):
                return None
            features.append(Cut(text[pos:]))
            return features, True
        features.append(feature)
        pos = _skip(text, pos)
    return features, False  # the text ends between two features


def cut_collection(data: bytes) -> tuple[list[Any], bool] | None:
    """The features of a FeatureCollection whose text ends before it closes: the whole ones,
    then a Cut for the one the end falls in; and whether there is one (False: the text ends
    between two features, or after them). None for any other text (a collection broken
    elsewhere, or with a `crs` member GDAL must read): GDAL's reading says what is wrong."""
    try:  # a character cut in two at the end is left out
        text = codecs.getincrementaldecoder("utf-8")().decode(
            data.removeprefix(codecs.BOM_UTF8), final=False)
    except UnicodeDecodeError:
        return None
    decoder = json.JSONDecoder()
    pos = _skip(text, 0)
    if not text.startswith("{", pos):
        return None
    pos = _skip(text, pos + 1)
    first = True
    while pos < len(text) and text[pos] != "}":
        if not first:
            if text[pos] != ",":
                return None
            pos = _skip(text, pos + 1)
        first = False
        try:
            key, pos = decoder.raw_decode(text, pos)
        except ValueError:
            return None
        pos = _skip(text, pos)
        if not text.startswith(":", pos) or key == "crs":
            return None
        pos = _skip(text, pos + 1)
        if key == "features":
            return _features(text, pos, decoder)
        try:
            _, pos = decoder.raw_decode(text, pos)
        except ValueError:
            return None
        pos = _skip(text, pos)
    return None
