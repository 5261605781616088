"""govlib: a data-governance workbook for customer data on polars."""

__version__ = "0.1.0"
