"""The kiosk's pictures, drawn here with Pillow (ours, no licence to track, nothing downloaded).

One flat colour on a transparent square, thick shapes that read at arm's length and for people who
read little: a family for civil status, a stamp for certification, a house for residence, a heart
in a hand for social policy, a shop with an awning for household business; a person with a cane,
a wheelchair, a pregnant woman, a pram, a medal for the priorities; a loudspeaker for "listen".
``icon_image(name, size)`` returns an RGBA image; unknown names get a star.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

from PIL import Image, ImageDraw

BLUE = (10, 70, 140, 255)
S = 400  # drawing grid; scaled down with antialiasing


def _person(d: ImageDraw.ImageDraw, cx: float, top: float, h: float, c=BLUE) -> None:
    """A standing figure: round head, rounded body, two legs; `h` is the full height."""
    r = h * 0.13
    d.ellipse((cx - r, top, cx + r, top + 2 * r), fill=c)
    body_top = top + 2 * r + h * 0.04
    w = h * 0.2
    d.rounded_rectangle((cx - w, body_top, cx + w, body_top + h * 0.42), radius=w * 0.8, fill=c)
    leg = h * 0.075
    legs_top = body_top + h * 0.3
    d.rounded_rectangle((cx - w * 0.8, legs_top, cx - w * 0.8 + 2 * leg, top + h), radius=leg, fill=c)
    d.rounded_rectangle((cx + w * 0.8 - 2 * leg, legs_top, cx + w * 0.8, top + h), radius=leg, fill=c)


def _family(d):
    _person(d, 110, 60, 290)
    _person(d, 290, 60, 290)
    _person(d, 200, 190, 160)


def _stamp(d):
    d.ellipse((150, 30, 250, 130), fill=BLUE)  # knob
    d.rectangle((180, 110, 220, 210), fill=BLUE)  # neck
    d.rounded_rectangle((90, 200, 310, 270), radius=18, fill=BLUE)  # block
    d.rectangle((110, 270, 290, 290), fill=BLUE)  # rubber
    d.rounded_rectangle((50, 330, 350, 350), radius=10, fill=BLUE)  # the mark on paper


def _house(d):
    d.polygon([(200, 40), (370, 190), (30, 190)], fill=BLUE)
    d.rectangle((75, 180, 325, 360), fill=BLUE)
    d.rectangle((170, 250, 230, 360), fill=(0, 0, 0, 0))  # door
    d.rectangle((100, 215, 150, 265), fill=(0, 0, 0, 0))  # window
    d.rectangle((255, 215, 305, 265), fill=(0, 0, 0, 0))


def _heart(d, cx, cy, r):
    d.ellipse((cx - 2 * r, cy - r, cx, cy + r), fill=BLUE)
    d.ellipse((cx, cy - r, cx + 2 * r, cy + r), fill=BLUE)
    d.polygon([(cx - 2 * r + 3, cy + r * 0.2), (cx + 2 * r - 3, cy + r * 0.2), (cx, cy + 2.3 * r)], fill=BLUE)
    d.rectangle((cx - r, cy - r * 0.2, cx + r, cy + r * 0.5), fill=BLUE)


def _hands(d):
    _heart(d, 200, 95, 62)
    d.chord((40, 170, 360, 380), 0, 180, fill=BLUE)  # the cupped hand
    d.rectangle((40, 240, 360, 275), fill=(0, 0, 0, 0))
    d.chord((40, 170, 360, 380), 0, 180, outline=BLUE, width=1)
    d.rounded_rectangle((20, 250, 90, 290), radius=20, fill=BLUE)  # thumb side
    d.rounded_rectangle((310, 250, 380, 290), radius=20, fill=BLUE)


def _shop(d):
    d.rectangle((50, 160, 350, 370), fill=BLUE)  # the shop
    d.rectangle((60, 60, 340, 100), fill=BLUE)  # the sign board
    for i in range(5):  # a scalloped awning
        x = 40 + i * 64
        d.rectangle((x, 105, x + 64, 150), fill=BLUE if i % 2 == 0 else (60, 130, 200, 255))
        d.pieslice((x, 120, x + 64, 184), 0, 180, fill=BLUE if i % 2 == 0 else (60, 130, 200, 255))
    d.rectangle((90, 215, 190, 290), fill=(0, 0, 0, 0))  # window
    d.rectangle((230, 215, 300, 370), fill=(0, 0, 0, 0))  # door


def _elderly(d):
    d.ellipse((140, 30, 220, 110), fill=BLUE)  # head, a little forward
    d.line((185, 120, 160, 250), fill=BLUE, width=56)  # bent back
    d.line((165, 240, 130, 370), fill=BLUE, width=40)  # legs
    d.line((175, 240, 215, 370), fill=BLUE, width=40)
    d.line((190, 160, 270, 215), fill=BLUE, width=30)  # arm to the cane
    d.line((275, 200, 290, 375), fill=BLUE, width=18)  # the cane
    d.arc((255, 180, 315, 240), 180, 300, fill=BLUE, width=18)


def _disabled(d):
    d.ellipse((150, 20, 220, 90), fill=BLUE)  # head
    d.line((180, 100, 180, 220), fill=BLUE, width=44)  # back
    d.line((180, 215, 280, 215), fill=BLUE, width=40)  # thigh
    d.line((275, 215, 305, 320), fill=BLUE, width=36)  # shin
    d.line((180, 140, 250, 160), fill=BLUE, width=28)  # arm
    d.arc((70, 170, 270, 370), 0, 360, fill=BLUE, width=26)  # the wheel


def _pregnant(d):
    d.ellipse((150, 25, 225, 100), fill=BLUE)  # head
    d.rounded_rectangle((145, 110, 225, 370), radius=38, fill=BLUE)  # body
    d.ellipse((170, 170, 290, 300), fill=BLUE)  # the belly, in profile


def _infant(d):
    d.pieslice((60, 90, 300, 330), 180, 270, fill=BLUE)  # the hood
    d.chord((60, 150, 300, 330), 0, 180, fill=BLUE)  # the cot
    d.rectangle((60, 210, 300, 240), fill=BLUE)
    d.line((300, 220, 360, 120), fill=BLUE, width=22)  # handle
    d.ellipse((85, 300, 155, 370), fill=BLUE)  # wheels
    d.ellipse((205, 300, 275, 370), fill=BLUE)


def _star(d, cx=200, cy=205, r=170, c=BLUE):
    points = []
    for i in range(10):
        a = -math.pi / 2 + i * math.pi / 5
        rr = r if i % 2 == 0 else r * 0.42
        points.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    d.polygon(points, fill=c)


def _merit(d):
    d.polygon([(130, 20), (190, 20), (230, 180), (170, 180)], fill=BLUE)  # ribbon
    d.polygon([(270, 20), (210, 20), (170, 180), (230, 180)], fill=(60, 130, 200, 255))
    d.ellipse((90, 150, 310, 370), fill=BLUE)  # the medal
    _star(d, 200, 262, 80, (255, 255, 255, 255))


def _none(d):
    """A plain ticket: a strip with notches and lines."""
    d.rounded_rectangle((40, 110, 360, 290), radius=20, fill=BLUE)
    d.ellipse((20, 175, 70, 225), fill=(0, 0, 0, 0))
    d.ellipse((330, 175, 380, 225), fill=(0, 0, 0, 0))
    for y in (160, 200, 240):
        d.rounded_rectangle((110, y - 8, 290, y + 8), radius=8, fill=(255, 255, 255, 255))


def _speaker(d, c=(255, 255, 255, 255)):
    d.rectangle((40, 150, 120, 250), fill=c)
    d.polygon([(110, 150), (210, 60), (210, 340), (110, 250)], fill=c)
    for r in (60, 110, 160):
        d.arc((210 - r, 200 - r, 210 + r, 200 + r), -45, 45, fill=c, width=26)


def _card(d):
    """A citizen ID card: photo, lines, and the QR corner the reader looks at."""
    d.rounded_rectangle((20, 90, 380, 320), radius=24, fill=BLUE)
    white = (255, 255, 255, 255)
    d.ellipse((55, 130, 125, 200), fill=white)  # photo: head
    d.pieslice((40, 195, 140, 295), 180, 360, fill=white)  # shoulders
    for y in (150, 195, 240):
        d.rounded_rectangle((160, y, 280, y + 18), radius=9, fill=white)
    d.rectangle((295, 220, 360, 290), fill=white)  # the QR
    for x, y in ((300, 225), (335, 225), (300, 260), (322, 247)):
        d.rectangle((x, y, x + 20, y + 20), fill=BLUE)


DRAW: dict[str, Callable] = {
    "family": _family, "stamp": _stamp, "house": _house, "hands": _hands, "shop": _shop,
    "elderly": _elderly, "disabled": _disabled, "pregnant": _pregnant, "infant": _infant, "merit": _merit,
    "none": _none, "speaker": _speaker, "star": _star, "card": _card,
}
SERVICE_ICONS = ("family", "stamp", "house", "hands", "shop")
PRIORITY_ICONS = ("elderly", "disabled", "pregnant", "infant", "merit", "none")


@lru_cache(maxsize=64)
def icon_image(name: str, size: int = 160) -> Image.Image:
    """The picture called `name` as a `size`×`size` RGBA image (a star for unknown names)."""
    big = Image.new("RGBA", (S, S), (0, 0, 0, 0))
    DRAW.get(name, _star)(ImageDraw.Draw(big))
    return big.resize((size, size), Image.LANCZOS)
