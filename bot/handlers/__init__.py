"""Slack listeners. Each module exposes ``register(app)``; ``HANDLER_MODULES`` lists them in order."""

HANDLER_MODULES: tuple[str, ...] = ("bot.handlers.events", "bot.handlers.dora", "bot.handlers.pulse")
