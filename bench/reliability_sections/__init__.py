"""Sections of bench/reliability.py, one module per subject."""
