"""Spreadsheet-safe CSV cells: text a prospect typed must never run as a formula.

Excel, LibreOffice and Google Sheets evaluate a cell that starts with `=`, `+`,
`-` or `@` (and tab / carriage return tricks); a leading `'` makes them show the
text as typed (OWASP "CSV injection").
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Text that could start a formula gets a leading quote; numbers pass as numbers."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
