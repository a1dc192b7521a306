"""Dossier intake and status changes at the counter: the part of :class:`TerminalModel` for hồ sơ.

A mixin over the terminal's ``_run``/``client``/``current``. The server is the record: a dossier
is created once, then its slip (Mẫu 01, or Mẫu 04 for an apology) is fetched as the server renders
it and printed as an image on the counter's receipt printer. A printer fault never loses the
dossier: its code and due date stay on screen with the fault in plain Vietnamese, and
:meth:`reprint` prints the same slip again once the printer is fixed. Receiving the same thing
twice for the same ticket (a double Enter, a retry after a paper-out) returns the first dossier.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .client import ServerError
from .messages import DONE_VI, dossier_transition_sentence, print_failed_sentence
from .refusal import Notice, TerminalError

log = logging.getLogger(__name__)

PHONE = re.compile(r"^\+?[0-9][0-9 .]{7,18}$")  # as the server checks it


@dataclass(frozen=True)
class Procedure:
    code: str
    name: str
    legal_days: int

    @property
    def label(self) -> str:
        days = "trong ngày" if not self.legal_days else f"{self.legal_days} ngày"
        return f"{self.name} ({days})"


def fold(text: str) -> str:
    """Lower case without Vietnamese marks, so "dang ky khai sinh" finds "Đăng ký khai sinh"."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def day_text(iso: str | None) -> str:
    return date.fromisoformat(iso[:10]).strftime("%d/%m/%Y") if iso else "—"


def parse_day(value: date | str) -> date:
    if isinstance(value, date):
        return value
    text = value.strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise TerminalError("invalid_date")


class DossierDesk:
    """Mixed into TerminalModel; ``_init_dossiers`` runs from its constructor."""

    def _init_dossiers(self, printer: Any = None) -> None:
        self.printer = printer  # a devices ReceiptPrinter, or None: do not print
        self._printer_opened = False
        self.procedures: dict[str, list[Procedure]] = {}  # service id → its procedures (menu order)
        self.dossier: dict[str, Any] | None = None  # the dossier last received / changed / opened
        self.dossiers: dict[str, dict[str, Any]] = {}  # handled in this session, by code
        self.last_slip: tuple[str, str] | None = None  # (dossier code, "01" | "04")
        self.print_pending = False  # the last slip did not print: offer "In lại"
        self._received: dict[tuple, str] = {}  # (ticket, procedure, name, phone, channel) → code
        self._intake_keys: dict[tuple, str] = {}  # the same intake → the same idempotency key

    def _load_procedures(self, menu: list[dict[str, Any]]) -> None:
        self.procedures = {
            s["id"]: [Procedure(p["code"], p["name_vi"], int(p.get("legal_days") or 0)) for p in s.get("procedures", [])]
            for s in menu
        }

    # ---- what the screen shows ----------------------------------------------------------------
    def procedure_choices(self, query: str = "") -> list[Procedure]:
        """The current ticket's service's procedures whose name (or code) has every word of
        ``query``, marks and case ignored."""
        service = (self.current or {}).get("service")
        words = fold(query).split()
        return [p for p in self.procedures.get(service, [])
                if all(w in fold(p.name) or w in p.code for w in words)]

    @property
    def dossier_codes(self) -> list[str]:
        return list(reversed(self.dossiers))

    @property
    def dossier_text(self) -> str:
        d = self.dossier
        if not d:
            return ""
        due = day_text(d.get("promised_date") or d.get("due_date"))
        return f"{d['code']} · {d['procedure']['name_vi']} · {d['status_label_vi']} · hẹn trả {due}"

    # ---- actions ------------------------------------------------------------------------------
    def receive_dossier(self, procedure_code: str, applicant_name: str, phone: str | None = None,
                        channel: str = "direct", digitised: bool = False) -> bool:
        """Receive a dossier from the citizen being served and print its Mẫu 01 slip.
        ``digitised``: its components were scanned at intake (Decision 766, 4.2)."""
        def work() -> str | Notice:
            ticket_id = self._ticket_id()
            if self.current.get("status") != "serving":
                raise TerminalError("not_serving")
            name, tel = " ".join(applicant_name.split()), (phone or "").strip() or None
            if not procedure_code:
                raise TerminalError("procedure_required")
            if not name:
                raise TerminalError("name_required")
            if tel is not None and not PHONE.match(tel):
                raise TerminalError("phone_invalid")
            key = (ticket_id, procedure_code, fold(name), tel, channel)
            if key in self._received:  # already on the server: never a second dossier for one intake
                code = self._received[key]
                self.dossier = self.dossiers[code]
                return f"Hồ sơ này đã được tiếp nhận, mã {code}. Bấm «In lại» (F10) nếu cần phiếu."
            # The same intake sends the same key, so a retry after a timeout (the server received it
            # but the answer was lost) gets the first dossier back instead of a second one.
            idem = self._intake_keys.setdefault(key, f"intake-{uuid.uuid4().hex}")
            view = self.client.create_dossier(procedure_code=procedure_code, applicant_name=name, phone=tel,
                                              channel=channel, ticket_id=ticket_id, idempotency_key=idem,
                                              components_digitised=True if digitised else None)
            self._received[key] = view["code"]
            self._keep(view)
            return self._print_after(view["code"], "01", day_text(view.get("due_date")), "receive")
        return self._run("receive_dossier", work, refresh=False)

    def update_dossier_status(self, code: str | None, status: str, note: str | None = None, *,
                              paid_online: bool = False, digitised: bool = False) -> bool:
        """``paid_online``: ending the fee step, the fee was paid online (Decision 766, 3.6);
        ``digitised``: accepting, the components were scanned (4.2) / resolving, the result was
        digitised (4.1). Ticked on another change, the server refuses it with a sentence."""
        def work() -> str | Notice:
            target = self._code(code)
            facts = {"paid_online": True if paid_online else None}
            if digitised:
                facts["result_digitised" if status == "resolved" else "components_digitised"] = True
            try:
                view = self.client.dossier_status(target, status, (note or "").strip() or None, **facts)
            except ServerError as err:
                if err.code != "invalid_transition":
                    raise
                self._keep(self.client.dossier(target))  # its status now, whoever changed it last
                return Notice(dossier_transition_sentence(target, self.dossier["status"], status), err.code, ok=False)
            self._keep(view)
            return DONE_VI["status"].format(code=view["code"], label=view["status_label_vi"])
        return self._run("update_dossier_status", work, refresh=False)

    def apology(self, code: str | None, new_date: date | str, reason: str) -> bool:
        """Record a Mẫu 04 apology (a late dossier, a new date) and print the slip."""
        def work() -> str | Notice:
            day = parse_day(new_date)
            if not reason.strip():
                raise TerminalError("note_required")
            view = self.client.apology(self._code(code), day.isoformat(), reason.strip())
            view.pop("slip", None)
            self._keep(view)
            return self._print_after(view["code"], "04", day.strftime("%d/%m/%Y"), "apology")
        return self._run("apology", work, refresh=False)

    def open_dossier(self, code: str) -> bool:
        """Bring a dossier (received earlier, by anyone at this site) to the status control."""
        def work() -> str:
            view = self.client.dossier(self._code(code))
            self._keep(view)
            return self.dossier_text
        return self._run("open_dossier", work, refresh=False)

    def reprint(self) -> bool:
        """Print the last slip again (after a printer fault, or a copy for the citizen)."""
        def work() -> str | Notice:
            if self.last_slip is None:
                raise TerminalError("nothing_to_print")
            if self.printer is None:
                raise TerminalError("no_printer")
            code, form = self.last_slip
            fault = self._print_slip(code, form)
            if fault:
                due = day_text((self.dossiers.get(code) or {}).get("promised_date"))
                return Notice(print_failed_sentence(fault, form, code, due), fault, ok=False)
            return DONE_VI["reprint"].format(code=code)
        return self._run("reprint", work, refresh=False)

    # ---- helpers ------------------------------------------------------------------------------
    def _code(self, code: str | None) -> str:
        code = (code or "").strip() or (self.dossier or {}).get("code")
        if not code:
            raise TerminalError("no_dossier")
        return code

    def _keep(self, view: dict[str, Any]) -> None:
        self.dossiers.pop(view["code"], None)
        self.dossiers[view["code"]] = view
        self.dossier = view

    def _print_after(self, code: str, form: str, due: str, done: str) -> str | Notice:
        self.last_slip = (code, form)
        if self.printer is None:
            return DONE_VI[done].format(code=code, due=due)
        fault = self._print_slip(code, form)
        if fault:
            return Notice(print_failed_sentence(fault, form, code, due), fault)
        return DONE_VI[f"{done}_printed"].format(code=code, due=due)

    def _print_slip(self, code: str, form: str) -> str | None:
        """Fetch the slip as the server renders it and print it; the fault's code, or None."""
        from PIL import Image

        from devices.errors import DeviceError
        from devices.layout import paper_width

        paper = getattr(self.printer, "paper", 80)
        try:
            image = Image.open(io.BytesIO(self.client.slip_png(code, form, paper)))
            width = paper_width(paper)
            if image.width > width:  # a server that knows one width only: scale to the roll
                image = image.convert("L").resize((width, round(image.height * width / image.width)), Image.LANCZOS)
            if not self._printer_opened:
                self._printer_opened = True  # a failed open is retried by the next job
                self.printer.open()
            self.printer.print_image(image)
        except DeviceError as err:
            log.warning("slip %s for %s not printed: %s", form, code, err)
            self.print_pending = True
            return err.code
        except ServerError as err:
            log.warning("slip %s for %s not fetched: %s", form, code, err)
            self.print_pending = True
            return err.code
        self.print_pending = False
        return None
