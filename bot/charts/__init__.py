"""Charts as PNG bytes, drawn with matplotlib's object API on the Agg backend (never pyplot)."""
