"""sei-bot: Software Engineering Intelligence in Slack."""

__version__ = "0.1.0"
