"""Device adapters: receipt printer, card/QR reader, LED counter display, ticket/slip layouts.

Imports nothing of ``server``, ``kiosk`` or ``counter``. Each device is chosen by URL
(``usb://``, ``serial://``, ``tcp://``, ``file://``, ``sim://``) and does no I/O until
``open()``. Entry points:

* :mod:`devices.layout` — ``TicketView``, ``SlipView``, ``ApologyView``, ``render_*`` (PIL images)
* :mod:`devices.printer` — ``open_printer(url)`` → ``ReceiptPrinter``
* :mod:`devices.reader` — ``open_reader(url)``, ``WedgeFeeder``; events from :mod:`devices.cccd`
* :mod:`devices.cccd` — ``parse_cccd``, ``classify_scan``, ``id_hash``, ``mask_name``
* :mod:`devices.display` — ``open_display(url)`` → ``LedDisplay``
* :mod:`devices.errors` — ``DeviceError`` and subclasses (``retryable``, ``code``, ``key``)
"""
