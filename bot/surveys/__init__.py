"""Pulse surveys: templates, runs, anonymous answers and results above the anonymity threshold."""
