"""Data in: webhooks, the generic API and backfills, through an append-only raw event log."""
