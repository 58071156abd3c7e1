"""Clients of outside APIs (GitHub, GitLab…): one small module per provider over an injected ``httpx.Client``."""
