"""Shared fixtures for the devices tests: fixed views (deterministic output) and helpers."""

from __future__ import annotations

import re

import pytest
from PIL import Image

from devices.layout import ApologyView, SlipView, TicketView

from tests.devices.cases import (
    DATA,
    DOSSIER_URL,
    GOLDEN,
    TRACK_URL,
    apology_view,
    print_job,
    slip_view,
    ticket_view,
)


@pytest.fixture
def ticket() -> TicketView:
    return ticket_view()


@pytest.fixture
def slip() -> SlipView:
    return slip_view()


@pytest.fixture
def apology() -> ApologyView:
    return apology_view()


@pytest.fixture
def job():
    """``job(url, kind)``: the bytes a sim printer at ``url`` receives for the fixed view."""
    return print_job


@pytest.fixture
def track_url() -> str:
    return TRACK_URL


@pytest.fixture
def dossier_url() -> str:
    return DOSSIER_URL


@pytest.fixture
def golden():
    return _golden


@pytest.fixture
def raster_images():
    return _raster_images


@pytest.fixture
def cccd_samples() -> list[str]:
    return (DATA / "cccd_samples.txt").read_text(encoding="utf-8").splitlines()


def _golden(name: str) -> bytes:
    path = GOLDEN / name
    if not path.exists():
        pytest.fail(f"golden file {path} missing; run: python -m tests.devices.cases")
    return path.read_bytes()


_RASTER = re.compile(rb"\x1dv0\x00(..)(..)", re.S)


def _raster_images(job: bytes) -> Image.Image:
    """Decode every ``GS v 0`` raster image in an ESC/POS job and stack them (for QR checks)."""
    parts = []
    pos = 0
    while (match := _RASTER.search(job, pos)) is not None:
        width_bytes = int.from_bytes(match.group(1), "little")
        height = int.from_bytes(match.group(2), "little")
        start = match.end()
        data = job[start:start + width_bytes * height]
        # ESC/POS raster: 1 bit = black dot; PIL mode "1": 1 bit = white, so invert.
        image = Image.frombytes("1", (width_bytes * 8, height), bytes(b ^ 0xFF for b in data))
        parts.append(image)
        pos = start + width_bytes * height
    out = Image.new("L", (max(p.width for p in parts), sum(p.height for p in parts)), 255)
    y = 0
    for part in parts:
        out.paste(part.convert("L"), (0, y))
        y += part.height
    return out
