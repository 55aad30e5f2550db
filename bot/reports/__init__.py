"""Reporting and analytics: attribution, the funnel report, unmatched answers, lead export.

Everything here reads the database and never writes it. Query modules turn rows
into plain values (`queries`, `export`); the rest are pure functions over those
values (`attribution`, `funnel`, `costs`, `unmatched`) and renderers
(`table`, `formats`, `html`, `svg`).
"""
