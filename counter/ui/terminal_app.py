"""The official's terminal window: a thin Kivy view over :class:`counter.terminal.TerminalModel`.

Buttons and F-keys call view-model methods on a worker thread (HTTP never blocks drawing);
the view-model's listener re-draws on the Kivy clock.
"""

from __future__ import annotations

import threading
from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.factory import Factory
from kivy.properties import BooleanProperty, ListProperty, StringProperty

from ..messages import DOSSIER_STATUS_VI
from ..terminal import KEYS, TerminalModel
from .common import KvOnce, load_kv, make, on_ui_thread, register_fonts, screenshot_when
from .intake import IntakePopup

COUNT_NAMES = (("called", "Đã gọi"), ("served", "Xong"), ("no_show", "Vắng"), ("parked", "Gác"),
               ("transferred", "Chuyển"))


class TerminalApp(KvOnce, App):
    username = StringProperty("")
    counter_label = StringProperty("")
    status_text = StringProperty("")
    current_number = StringProperty("—")
    current_status = StringProperty("")
    message = StringProperty("")
    message_is_error = BooleanProperty(False)
    counts_text = StringProperty("")
    busy = BooleanProperty(False)
    waiting_rows = ListProperty([])
    service_choices = ListProperty([])
    counter_choices = ListProperty([])
    dossier_code = StringProperty("")
    dossier_text = StringProperty("")
    print_pending = BooleanProperty(False)
    status_labels = ListProperty(list(DOSSIER_STATUS_VI.values()))

    def __init__(self, model: TerminalModel, *, username: str = "", password: str | None = None,
                 refresh_s: float = 20.0, screenshot: Path | None = None, ready=None, **kw) -> None:
        super().__init__(**kw)
        self.title = f"motcua — quầy {model.client.counter}"
        self.model, self.username = model, username
        self._password, self.refresh_s = password, refresh_s
        self.screenshot, self.ready = screenshot, ready
        self._page = None
        self._jobs = threading.Semaphore(1)

    def build(self):
        from kivy.core.window import Window

        register_fonts()
        load_kv("terminal.kv")
        root = Factory.TerminalRoot()
        self.login_box, self.work_box = Factory.LoginBox(), Factory.WorkBox()
        self.intake = IntakePopup(self)
        self.root = root
        self.model.listen(on_ui_thread(self.refresh))
        Window.bind(on_key_down=self._on_key)
        try:
            Window.always_on_top = True
        except Exception:  # not every window provider can
            pass
        if self.refresh_s:
            Clock.schedule_interval(lambda dt: self.model.logged_in and self.do("refresh"), self.refresh_s)
        self.refresh()
        if self._password is not None:
            self.login(self.username, self._password)
        if self.screenshot:
            screenshot_when(self, self.ready or (lambda: True), self.screenshot)
        return root

    # ---- actions (worker thread) --------------------------------------------------------------
    def do(self, method: str, *args, **kwargs) -> None:
        def job() -> None:
            with self._jobs:
                getattr(self.model, method)(*args, **kwargs)
        threading.Thread(target=job, daemon=True, name=f"terminal-{method}").start()

    def login(self, username: str, password: str) -> None:
        self.username = username
        self.do("login", username, password)

    def pause(self, reason: str) -> None:
        self.do("pause", reason)

    def select(self, number: str | None) -> None:
        self.model.select(number)

    def transfer(self, service_name: str, counter_label: str) -> None:
        services = {v: k for k, v in self.model.service_names.items()}
        counters = {v: k for k, v in self.model.other_counters.items()}
        self.do("transfer", service=services.get(service_name), counter=counters.get(counter_label))

    def _on_key(self, window, key, scancode, codepoint, modifiers) -> bool:
        from kivy.core.window import Keyboard

        name = next((n for n, code in Keyboard.keycodes.items() if code == key), "")
        if name == "f9":
            self.open_intake()
            return True
        if name in KEYS:
            self.do("key", name)
            return True
        return False

    def open_intake(self) -> None:
        if self.model.logged_in and self.intake.parent is None:
            self.intake.open()

    def update_status(self, code: str, status_label: str, note: str, paid_online: bool = False,
                      digitised: bool = False) -> None:
        statuses = {v: k for k, v in DOSSIER_STATUS_VI.items()}
        self.do("update_dossier_status", code, statuses.get(status_label, status_label), note,
                paid_online=paid_online, digitised=digitised)

    # ---- drawing ------------------------------------------------------------------------------
    def refresh(self) -> None:
        m = self.model
        page = self.work_box if m.logged_in else self.login_box
        if page is not self._page:
            self.root.clear_widgets()
            self.root.add_widget(page)
            self._page = page
        self.busy = m.busy
        self.counter_label, self.status_text = m.counter_label, m.status_text
        self.current_number = m.current_number
        self.current_status = m.current_status_text
        self.message, self.message_is_error = m.message, m.message_is_error
        self.counts_text = "Hôm nay: " + " · ".join(f"{name} {m.counts[key]}" for key, name in COUNT_NAMES)
        self.service_choices = list(m.service_names.values())
        self.counter_choices = list(m.other_counters.values())
        self.dossier_code = (m.dossier or {}).get("code", "")
        self.dossier_text, self.print_pending = m.dossier_text, m.print_pending
        self.waiting_rows = list(m.waiting)
        box = self.work_box.ids.waiting
        box.clear_widgets()
        for row in m.waiting:
            parts = [row.number, row.service_name, row.waited_text]
            if row.priority:
                parts.insert(2, row.priority)
            if row.status == "parked":
                parts.append("tạm gác")
            box.add_widget(make("WaitingRowView", text="   ".join(parts), number=row.number,
                                                  state="down" if row.number == m.selected else "normal"))
