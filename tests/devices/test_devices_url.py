"""Device URLs: every scheme parses without I/O; mistakes name the URL."""

from __future__ import annotations

import pytest

from devices.errors import DeviceConfigError
from devices.url import Registry, parse_device_url


def test_schemes():
    assert parse_device_url("usb://04b8:0e15").usb_ids() == (0x04B8, 0x0E15)
    serial = parse_device_url("serial:///dev/ttyUSB0?baudrate=9600")
    assert (serial.path, serial.get_int("baudrate", 0, 1, 10**6)) == ("/dev/ttyUSB0", 9600)
    tcp = parse_device_url("tcp://10.0.0.5:9100")
    assert (tcp.host, tcp.port) == ("10.0.0.5", 9100)
    assert parse_device_url("file:///tmp/out.bin").path == "/tmp/out.bin"
    assert parse_device_url("sim://?fault=paper_out").params == {"fault": "paper_out"}


@pytest.mark.parametrize("url, message", [
    ("", "not a device URL"),
    ("/dev/ttyUSB0", "not a device URL"),
    ("bluetooth://aa:bb", "unknown scheme"),
    ("tcp://host:notaport", "malformed"),
    ("usb://4b8:202", "VID:PID"),
    ("usb://zzzz:0202", "VID:PID"),
    ("serial://ttyUSB0", "absolute path"),
    ("file://", "absolute path"),
])
def test_errors_name_the_url(url, message):
    with pytest.raises(DeviceConfigError, match=message) as info:
        parse_device_url(url)
    assert repr(url) in str(info.value) or url in str(info.value)


def test_registry_refuses_a_scheme_it_does_not_have():
    registry: Registry[str] = Registry("widget")
    registry.register("sim", lambda url: "sim!")
    assert registry.create("sim://") == "sim!"
    with pytest.raises(DeviceConfigError, match="a widget cannot use scheme 'tcp'"):
        registry.create("tcp://h:1")


def test_devices_imports_none_of_the_apps():
    import subprocess
    import sys

    code = ("import sys, devices.cli, devices.printer, devices.reader, devices.display;"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('server', 'kiosk', 'counter')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_layout_does_not_import_escpos():
    import subprocess
    import sys

    code = "import sys, devices.layout, devices.cccd; print('escpos' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
