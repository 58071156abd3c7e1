"""Durable outbound Slack messages: written first, delivered by a rate-limited sender."""
