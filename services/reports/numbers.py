"""Vietnamese number formatting for documents: moved to ``shared/vi_numbers.py`` (the web pages print the same
figures); re-exported here so the reports modules keep their imports."""

from shared.vi_numbers import DASH, NO_DATA, decimal_or_none, parse_vi_number, vi_decimal, vi_int, vi_percent

__all__ = ["DASH", "NO_DATA", "decimal_or_none", "parse_vi_number", "vi_decimal", "vi_int", "vi_percent"]
