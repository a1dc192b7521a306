"""The "Tiếp nhận hồ sơ" popup: pick the procedure (type to search), the applicant's name, phone
and channel, then Enter. Layout in terminal.kv (``<IntakePopup>``); the work is the view-model's
``receive_dossier``. Keyboard: type → Enter picks the first match → name → Enter → phone → Enter
receives; Tab moves between fields, F10 reprints, Esc closes.
"""

from __future__ import annotations

from kivy.properties import ListProperty, StringProperty
from kivy.uix.popup import Popup

from ..messages import CHANNEL_VI
from .common import make


class IntakePopup(Popup):
    ticket_number = StringProperty("")
    selected_code = StringProperty("")
    selected_label = StringProperty("")
    channel_labels = ListProperty(list(CHANNEL_VI.values()))

    def __init__(self, app, **kw) -> None:
        super().__init__(**kw)
        self.app = app
        self._shown: list = []

    def on_open(self) -> None:
        self.ticket_number = self.app.model.current_number
        self.search(self.ids.search.text)
        self.ids.search.focus = True

    def search(self, text: str) -> None:
        self._shown = self.app.model.procedure_choices(text)
        box = self.ids.procedures
        box.clear_widgets()
        for proc in self._shown:
            box.add_widget(make("ProcedureRow", text=proc.label, code=proc.code,
                                state="down" if proc.code == self.selected_code else "normal"))
        if not self._shown:
            box.add_widget(make("TText", text="Không có thủ tục nào khớp (hoặc chưa phục vụ số nào).",
                                size_hint_y=None, height=30))

    def pick(self, code: str | None) -> None:
        proc = next((p for p in self._shown if p.code == code), None)
        self.selected_code = proc.code if proc else ""
        self.selected_label = proc.label if proc else ""
        for row in self.ids.procedures.children:
            if hasattr(row, "code"):
                row.state = "down" if row.code == self.selected_code else "normal"

    def pick_first(self) -> None:
        if self._shown:
            self.pick(self._shown[0].code)
            self.ids.name.focus = True

    def fill(self, search: str = "", name: str = "", phone: str = "") -> None:
        """Type into the form (for the screenshot and for a future card-reader pre-fill)."""
        self.ids.search.text = search
        self.search(search)
        self.pick_first()
        self.ids.name.text, self.ids.phone.text = name, phone

    def submit(self, *, wait: bool = False) -> None:
        """Receive (on a worker thread; ``wait`` runs it here, for the screenshot)."""
        channels = {v: k for k, v in CHANNEL_VI.items()}
        args = (self.selected_code, self.ids.name.text, self.ids.phone.text or None,
                channels.get(self.ids.channel.text, "direct"), self.ids.digitised.state == "down")
        if wait:
            self.app.model.receive_dossier(*args)
        else:
            self.app.do("receive_dossier", *args)
