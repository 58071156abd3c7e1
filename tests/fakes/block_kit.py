"""Block Kit limits as Slack enforces them, for the fake Web API and for builder tests.

``message_problems(blocks, text)`` and ``view_problems(view)`` return one readable line per broken
rule (``"blocks[3].text: 3012 chars > 3000"``); an empty list means Slack would accept it. The
numbers are those of SLACK.md ("Block Kit limits").
"""

from __future__ import annotations

import json
from typing import Any

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
MESSAGE_TEXT = 40_000
VIEW_BYTES = 250_000

BLOCK_TYPES = {
    "section",
    "header",
    "divider",
    "context",
    "actions",
    "image",
    "input",
    "rich_text",
    "file",
    "video",
    "markdown",
}
# Limits of elements by type: (text field limit, value limit, options limit).
_OPTION_ELEMENTS = {
    "static_select": 100,
    "multi_static_select": 100,
    "radio_buttons": 10,
    "checkboxes": 10,
    "overflow": 5,
}


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, where: str, problem: str) -> None:
        self.problems.append(f"{where}: {problem}")

    def text_obj(self, where: str, obj: Any, limit: int, *, plain_only: bool = False, required: bool = True) -> None:
        if obj is None:
            if required:
                self.fail(where, "missing text object")
            return
        if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
            self.fail(where, f"not a text object: {obj!r:.80}")
            return
        if plain_only and obj["type"] != "plain_text":
            self.fail(where, "must be plain_text")
        text = obj.get("text")
        if not isinstance(text, str) or not text:
            self.fail(where, "text must be a non-empty string")
        elif len(text) > limit:
            self.fail(where, f"{len(text)} chars > {limit}")

    def length(self, where: str, value: Any, limit: int) -> None:
        if value is not None and len(str(value)) > limit:
            self.fail(where, f"{len(str(value))} chars > {limit}")

    def option(self, where: str, option: Any) -> None:
        if not isinstance(option, dict):
            self.fail(where, "option must be an object")
            return
        self.text_obj(f"{where}.text", option.get("text"), 75)
        value = option.get("value")
        if value is None:
            self.fail(f"{where}.value", "missing")
        self.length(f"{where}.value", value, 150)
        self.text_obj(f"{where}.description", option.get("description"), 75, required=False)

    def element(self, where: str, el: Any) -> None:
        if not isinstance(el, dict) or "type" not in el:
            self.fail(where, "element must be an object with a type")
            return
        kind = el["type"]
        self.length(f"{where}.action_id", el.get("action_id"), 255)
        if kind == "button":
            self.text_obj(f"{where}.text", el.get("text"), 75, plain_only=True)
            self.length(f"{where}.value", el.get("value"), 2000)
            self.length(f"{where}.url", el.get("url"), 3000)
            if el.get("style") not in (None, "primary", "danger"):
                self.fail(f"{where}.style", f"unknown style {el.get('style')!r}")
        elif kind in _OPTION_ELEMENTS:
            options = el.get("options")
            if options is None and "option_groups" not in el:
                self.fail(f"{where}.options", "missing")
            options = options or []
            if len(options) > _OPTION_ELEMENTS[kind]:
                self.fail(f"{where}.options", f"{len(options)} options > {_OPTION_ELEMENTS[kind]}")
            if kind == "overflow" and len(options) < 2:
                self.fail(f"{where}.options", "an overflow menu needs at least 2 options")
            for i, option in enumerate(options):
                self.option(f"{where}.options[{i}]", option)
            self.text_obj(f"{where}.placeholder", el.get("placeholder"), 150, plain_only=True, required=False)
        elif kind == "image":
            if not el.get("image_url") and not el.get("slack_file"):
                self.fail(f"{where}.image_url", "missing")
            self.length(f"{where}.alt_text", el.get("alt_text"), 2000)
        elif kind == "plain_text_input":
            self.text_obj(f"{where}.placeholder", el.get("placeholder"), 150, plain_only=True, required=False)
            self.length(f"{where}.initial_value", el.get("initial_value"), 3000)

    def block(self, where: str, block: Any, action_ids: set[str]) -> None:
        if not isinstance(block, dict):
            self.fail(where, "block must be an object")
            return
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            self.fail(f"{where}.type", f"unknown block type {kind!r}")
            return
        self.length(f"{where}.block_id", block.get("block_id"), 255)
        if kind == "section":
            if block.get("text") is None and not block.get("fields"):
                self.fail(where, "a section needs text or fields")
            self.text_obj(f"{where}.text", block.get("text"), 3000, required=False)
            fields = block.get("fields") or []
            if len(fields) > 10:
                self.fail(f"{where}.fields", f"{len(fields)} fields > 10")
            for i, field in enumerate(fields):
                self.text_obj(f"{where}.fields[{i}]", field, 2000)
            if block.get("accessory") is not None:
                self.element(f"{where}.accessory", block["accessory"])
                self._action_id(where, block["accessory"], action_ids)
        elif kind == "header":
            self.text_obj(f"{where}.text", block.get("text"), 150, plain_only=True)
        elif kind in ("context", "actions"):
            limit = 10 if kind == "context" else 25
            elements = block.get("elements") or []
            if not elements or len(elements) > limit:
                self.fail(f"{where}.elements", f"{len(elements)} elements; a {kind} block takes 1 to {limit}")
            for i, el in enumerate(elements):
                if kind == "context" and isinstance(el, dict) and el.get("type") in ("plain_text", "mrkdwn"):
                    self.text_obj(f"{where}.elements[{i}]", el, 2000)
                else:
                    self.element(f"{where}.elements[{i}]", el)
                    self._action_id(f"{where}.elements[{i}]", el, action_ids)
        elif kind == "image":
            if not block.get("image_url") and not block.get("slack_file"):
                self.fail(f"{where}.image_url", "missing")
            self.length(f"{where}.alt_text", block.get("alt_text"), 2000)
            self.text_obj(f"{where}.title", block.get("title"), 2000, plain_only=True, required=False)
        elif kind == "input":
            self.text_obj(f"{where}.label", block.get("label"), 2000, plain_only=True)
            self.text_obj(f"{where}.hint", block.get("hint"), 2000, plain_only=True, required=False)
            if block.get("element") is None:
                self.fail(f"{where}.element", "missing")
            else:
                self.element(f"{where}.element", block["element"])
                self._action_id(f"{where}.element", block["element"], action_ids)
        elif kind == "markdown":
            self.length(f"{where}.text", block.get("text"), 12_000)

    def _action_id(self, where: str, el: Any, action_ids: set[str]) -> None:
        action_id = el.get("action_id") if isinstance(el, dict) else None
        if action_id is None:
            return
        if action_id in action_ids:
            self.fail(f"{where}.action_id", f"duplicate action_id {action_id!r}")
        action_ids.add(action_id)

    def blocks(self, blocks: Any, limit: int) -> None:
        if not isinstance(blocks, list):
            self.fail("blocks", "must be an array")
            return
        if len(blocks) > limit:
            self.fail("blocks", f"{len(blocks)} blocks > {limit}")
        block_ids: set[str] = set()
        action_ids: set[str] = set()
        for i, block in enumerate(blocks):
            block_id = block.get("block_id") if isinstance(block, dict) else None
            if block_id is not None:
                if block_id in block_ids:
                    self.fail(f"blocks[{i}].block_id", f"duplicate block_id {block_id!r}")
                block_ids.add(block_id)
            self.block(f"blocks[{i}]", block, action_ids)


def _decode(value: Any) -> Any:
    """Form-encoded calls carry blocks and views as JSON strings."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def message_problems(blocks: Any, text: str | None = None) -> list[str]:
    """What Slack would refuse in a message's ``blocks`` (and ``text``)."""
    checker = _Checker()
    if blocks is not None:
        checker.blocks(_decode(blocks), MESSAGE_BLOCKS)
    if text is not None and len(text) > MESSAGE_TEXT:
        checker.fail("text", f"{len(text)} chars > {MESSAGE_TEXT}")
    return checker.problems


def view_problems(view: Any) -> list[str]:
    """What Slack would refuse in a modal or Home tab view."""
    view = _decode(view)
    checker = _Checker()
    if not isinstance(view, dict):
        return ["view: must be an object"]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        checker.fail("view.type", f"must be modal or home, not {kind!r}")
    if kind == "modal":
        checker.text_obj("view.title", view.get("title"), 24, plain_only=True)
        checker.text_obj("view.submit", view.get("submit"), 24, plain_only=True, required=False)
        checker.text_obj("view.close", view.get("close"), 24, plain_only=True, required=False)
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
        if has_input and view.get("submit") is None:
            checker.fail("view.submit", "a modal with input blocks needs a submit button")
    checker.length("view.private_metadata", view.get("private_metadata"), 3000)
    checker.length("view.callback_id", view.get("callback_id"), 255)
    checker.length("view.external_id", view.get("external_id"), 255)
    checker.blocks(view.get("blocks"), VIEW_BLOCKS)
    size = len(json.dumps(view).encode())
    if size > VIEW_BYTES:
        checker.fail("view", f"{size} bytes > {VIEW_BYTES} (view_too_large)")
    return checker.problems
