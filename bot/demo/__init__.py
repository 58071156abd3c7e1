"""The offline demo: seeded realistic data (``generator``) and what the bot answers about it."""
