"""Device adapters: receipt printer, card/QR reader, LED counter display, SMS modem, ticket/slip layouts.

Imports nothing of ``server``, ``kiosk`` or ``counter``. Each device is chosen by URL
(``usb://``, ``serial://``, ``tcp://``, ``file://``, ``sim://``) and does no I/O until
``open()``. Entry points:

* :mod:`devices.layout` — ``TicketView``, ``SlipView``, ``ApologyView``, ``render_*`` (PIL images)
* :mod:`devices.printer` — ``open_printer(url)`` → ``ReceiptPrinter``
* :mod:`devices.reader` — ``open_reader(url)``, ``WedgeFeeder``; events from :mod:`devices.cccd`
* :mod:`devices.cccd` — ``parse_cccd``, ``classify_scan``, ``id_hash``, ``mask_name``
* :mod:`devices.display` — ``open_display(url)`` → ``LedDisplay``
* :mod:`devices.modem` — ``open_modem(url)`` → ``SmsModem`` (AT commands, SMS text mode);
  :mod:`devices.modem_sim` — the AT-speaking simulator behind ``sim://``
* :mod:`devices.errors` — ``DeviceError`` and subclasses (``retryable``, ``code``, ``key``)
"""
