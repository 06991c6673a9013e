"""CSV cells a spreadsheet cannot run: the one guard against CSV (formula) injection.

Every CSV the project writes for people to open (the API's `f=csv` and `f=hxl` downloads, the
analysis tables, `truce etl quarantine export`) passes each cell through `safe_cell`. As OWASP
advises, a text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed
with a single quote, so Excel, LibreOffice and Google Sheets show it as text instead of
evaluating it. Only text is touched: a number written from a Python int, float or Decimal (a
negative longitude, a count) stays a number. Text that merely looks like a negative number
("-5" in a text column) is prefixed too: from text alone it cannot be told apart from a formula
such as `-2+3+cmd|' /C calc'!A0`."""

from __future__ import annotations

from typing import Any

#: the first characters that make a spreadsheet read a cell as a formula (OWASP's list)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """`value`, or for text a spreadsheet would evaluate, the text behind a single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
