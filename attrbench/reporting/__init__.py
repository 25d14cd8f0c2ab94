"""Turning records into answers: statistics, validity checks, tables, figures."""
