"""Kivy settings that must be set before ``kivy.core.window`` is imported (window size, logs)."""

from __future__ import annotations

import os


def configure_kivy(width: int = 1080, height: int = 1920, fullscreen: bool = False) -> None:
    """Window size and quiet logs; must run before ``kivy.core.window`` is imported."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    from kivy.config import Config

    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "resizable", "0")
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")
