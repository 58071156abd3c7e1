"""Durable outbound Slack messages: written first, delivered by a rate-limited sender.

``service.py`` enqueues (how other packages send anything to Slack) and claims rows; ``compute.py``
is the pure delivery policy (pacing, backoff, which errors are permanent, unknown outcomes);
``sender.py`` makes the Web API calls; ``scheduled.py`` is the outbox sweep job.
"""
