"""Connector to an electronic one-stop system (Hệ thống thông tin giải quyết TTHC).

Two directions: our dossier events go out (``push``), status changes made over there come in,
by signed webhook or by periodic ``pull``. ``sim`` is an in-memory system for tests and the demo.
"""
