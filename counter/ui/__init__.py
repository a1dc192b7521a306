"""Kivy views of the counter terminal, the hall display and the counter screen.

Importing a module here loads Kivy; the view-models (``counter.terminal``, ``counter.boards``)
never do. Each screen is one ``.kv`` file (layout and bindings) and a thin App that copies the
view-model into Kivy properties on the Kivy clock.
"""
