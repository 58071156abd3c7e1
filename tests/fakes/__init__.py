"""A Slack test harness: run the real bot over HTTP against a fake Slack and assert what it sent.

Three pieces, usable alone or together:

- ``tests.fakes.slack_api.FakeSlack``: a fake Web API on a random local port (``base_url`` is the
  bot's ``SLACK_API_URL``). Records every call, answers in Slack's shapes, issues and checks
  ``trigger_id``s and ``response_url``s, serves file uploads, validates Block Kit limits, injects
  429 / 5xx / slow / ``ok: false`` answers, and times ``chat.postMessage`` per channel.
- ``tests.fakes.driver.SlackDriver``: sends v0-signed slash commands, interactions and events as
  Slack does (or forged / stale ones) and returns status, body and elapsed time.
- ``tests.fakes.live_app``: ``run_live_app(settings, engine, slack)`` serves ``bot.web.create_wsgi_app``
  under waitress on a random port.

Fixtures (tests/conftest.py): ``fake_slack``; ``teams_yml`` (override it per module); ``live_app``
(a ``LiveApp`` with ``url``, ``settings``, ``engine``, ``slack``, ``driver`` and ``session()``)::

    def test_dora_posts_to_the_channel(live_app):
        reply = live_app.driver.command("/dora", "team-a")
        assert reply.status == 200 and reply.elapsed < 3
        post = live_app.slack.wait_for("chat.postMessage")[0]
        assert post.args["channel"] == "C0123ABCD"
        assert live_app.slack.block_kit_violations == []

Block Kit checks for builder unit tests without any server: ``tests.fakes.block_kit.message_problems``
and ``view_problems``.
"""
