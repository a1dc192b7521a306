"""Domain core: plain Python rules with no FastAPI, SQL, MQTT or Kivy imports.

Adapters (storage, HTTP, MQTT) translate to and from these types, so the rules are tested in
microseconds and shared by every adapter.
"""
