"""The ``/dora`` chart is a real PNG of sensible size, with or without data."""

from __future__ import annotations

import struct
from dataclasses import replace

from bot.charts.dora import render_dora_chart
from tests.fakes.reports import empty_report, sample_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _size(png: bytes) -> tuple[int, int]:
    assert png[:8] == PNG_SIGNATURE and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_chart_is_a_png_of_sane_size() -> None:
    png = render_dora_chart(sample_report())
    assert _size(png) == (800, 460)
    assert 10_000 < len(png) < 300_000
    assert png.endswith(b"IEND\xaeB`\x82")


def test_chart_without_data_or_weeks_still_renders() -> None:
    assert _size(render_dora_chart(empty_report())) == (800, 460)
    assert _size(render_dora_chart(replace(sample_report(), weekly=[]))) == (800, 460)


def test_a_year_of_weeks_renders() -> None:
    png = render_dora_chart(sample_report(days=365))
    assert _size(png) == (800, 460)


def test_chart_depends_on_the_data() -> None:
    assert render_dora_chart(sample_report()) != render_dora_chart(empty_report())
