"""Every sentence the kiosk shows, in Vietnamese (full diacritics) and English, plus search folding.

Keys of device and card errors come from :mod:`devices.errors` (``printer.paper_out``…) and
:mod:`devices.cccd` (``cccd.bad_id``…); anything unknown falls back to a general sentence, so a
citizen never sees a code.
"""

from __future__ import annotations

import unicodedata

LANGS = ("vi", "en")

PRIORITIES = ("elderly", "disabled", "pregnant", "infant", "merit")

TEXT: dict[str, tuple[str, str]] = {
    "app.title": ("Lấy số thứ tự", "Take a queue number"),
    "home.welcome": ("Xin mời chọn lĩnh vực", "Please choose a service"),
    "home.language": ("English", "Tiếng Việt"),
    "home.search": ("Tìm thủ tục (gõ không dấu cũng được)", "Search a procedure by name"),
    "home.no_results": ("Không tìm thấy thủ tục. Xin mời chọn lĩnh vực.",
                        "No procedure found. Please choose a service."),
    "home.more": ("▼ Kéo lên để xem thêm lĩnh vực", "▼ Swipe up for more services"),
    "voice.on": ("Nghe hướng dẫn", "Listen"),
    "voice.off": ("Tắt đọc", "Stop reading"),
    "home.scan_hint": ("Quét mã QR trên phiếu để xem lượt của bạn",
                       "Scan the QR code on your ticket to see your turn"),
    "identify.title": ("Quét căn cước công dân (không bắt buộc)", "Scan your citizen ID card (optional)"),
    "identify.hint": ("Đặt mặt có mã QR của thẻ lên đầu đọc.", "Hold the QR side of your card to the reader."),
    "identify.consent": (
        "Máy chỉ gửi tên viết tắt và một dãy ký hiệu riêng tạo ra từ số căn cước, không đọc ngược "
        "ra số được, để cán bộ nhận ra bạn. Không lưu số căn cước, ngày sinh hay địa chỉ.",
        "Only your initials and a coded fingerprint of your ID number are sent so the official "
        "can recognise you. Your ID number, birth date and address are not kept."),
    "identify.hello": ("Xin chào, {name}", "Hello, {name}"),
    "identify.skip": ("Bỏ qua", "Skip"),
    "identify.continue": ("Tiếp tục", "Continue"),
    "priority.title": ("Bạn thuộc đối tượng ưu tiên?", "Do you have priority?"),
    "priority.none": ("Không, lấy số thường", "No, a regular number"),
    "priority.elderly": ("Người cao tuổi", "Elderly person"),
    "priority.disabled": ("Người khuyết tật", "Person with a disability"),
    "priority.pregnant": ("Phụ nữ mang thai", "Pregnant woman"),
    "priority.infant": ("Người đưa con nhỏ dưới 36 tháng", "With a child under 36 months"),
    "priority.merit": ("Người có công với cách mạng", "Person with meritorious service"),
    "issuing.wait": ("Đang lấy số, xin chờ một chút…", "Getting your number, please wait…"),
    "ticket.your_number": ("Số thứ tự của bạn", "Your number"),
    "ticket.ahead": ("Số người chờ trước bạn: {n}", "People ahead of you: {n}"),
    "ticket.wait": ("Thời gian chờ dự kiến: {t}", "Estimated wait: {t}"),
    "ticket.rules": ("Khi nghe gọi số của bạn, xin mời đến đúng quầy được gọi. Nếu lỡ lượt, xin hỏi bàn hướng dẫn.",
                     "When your number is called, please go to the counter named. If you miss your turn, "
                     "ask at the reception desk."),
    "ticket.take": ("Xin mời nhận phiếu bên dưới.", "Please take your ticket below."),
    "ticket.photo": ("Xin chụp ảnh màn hình này hoặc ghi lại số.", "Please photograph this screen or note the number."),
    "ticket.done": ("Xong", "Done"),
    "track.title": ("Lượt của bạn", "Your turn"),
    "track.status": ("Trạng thái: {s}", "Status: {s}"),
    "track.counter": ("Mời đến {c}", "Please go to {c}"),
    "track.unavailable": ("Chưa xem được trạng thái lượt tại đây. Xin mời theo dõi màn hình trong sảnh.",
                          "Your turn's status is not available here. Please watch the hall screen."),
    "track.not_found": ("Không tìm thấy phiếu này.", "This ticket was not found."),
    "track.checked_in": ("Đã xác nhận có mặt. Xin mời chờ gọi số.", "Checked in. Please wait for your number."),
    "track.back_in_line": ("Đã xác nhận có mặt. Số của bạn đã vào lại cuối hàng chờ.",
                           "Checked in. Your number is back at the end of the line."),
    "status.waiting": ("đang chờ", "waiting"),
    "status.called": ("đã đến lượt", "called"),
    "status.serving": ("đang được phục vụ", "being served"),
    "status.done": ("đã xong", "done"),
    "status.no_show": ("đã bị bỏ qua", "missed"),
    "status.parked": ("tạm hoãn", "on hold"),
    "status.transferred": ("đã chuyển", "transferred"),
    "status.cancelled": ("đã huỷ", "cancelled"),
    "status.set_aside": ("đã qua lượt vì chưa xác nhận có mặt", "passed: not checked in"),
    "help.title": ("Vui lòng đến bàn hướng dẫn", "Please go to the reception desk"),
    "help.server": ("Máy chưa lấy được số vì mất kết nối. Cán bộ hướng dẫn sẽ giúp bạn.",
                    "The kiosk cannot get a number right now. The reception staff will help you."),
    "help.retry": ("Thử lại", "Try again"),
    "common.home": ("Về trang đầu", "Back to start"),
    "common.back": ("Quay lại", "Back"),
    "wait.minutes": ("khoảng {m} phút", "about {m} min"),
    "wait.hours": ("khoảng {h} giờ {m} phút", "about {h} h {m} min"),
    "wait.unknown": ("chưa ước tính được", "not known yet"),
    # devices.errors keys
    "printer.paper_out": ("Máy in hết giấy.", "The printer is out of paper."),
    "printer.paper_low": ("Máy in sắp hết giấy.", "The printer is low on paper."),
    "printer.offline": ("Máy in đang không hoạt động.", "The printer is not working."),
    "printer.timeout": ("Máy in không phản hồi.", "The printer is not responding."),
    "printer.error": ("Máy in gặp sự cố.", "The printer has a problem."),
    "device.error": ("Máy in gặp sự cố.", "The printer has a problem."),
    # devices.cccd reasons → one sentence: the citizen cannot fix a field anyway
    "cccd.unreadable": ("Không đọc được thẻ. Bạn vẫn có thể lấy số bình thường.",
                        "The card could not be read. You can still take a number."),
    # a booked citizen's QR or card (server/storage/appointment_store.py refusal codes)
    "appointment.refused": ("Không dùng được lịch hẹn này. Xin mời lấy số như thường.",
                            "This appointment cannot be used. Please take a number as usual."),
    "appointment.not_found": ("Không tìm thấy lịch hẹn này. Xin mời lấy số như thường.",
                              "This appointment was not found. Please take a number as usual."),
    "appointment.appointment_not_today": ("Lịch hẹn của bạn không phải hôm nay. Xin mời lấy số như thường.",
                                          "Your appointment is not today. Please take a number as usual."),
    "appointment.appointment_cancelled": ("Lịch hẹn này đã hủy. Xin mời lấy số như thường.",
                                          "This appointment was cancelled. Please take a number as usual."),
    "ticket.booked": ("Bạn có lịch hẹn lúc {start}: trong khung giờ hẹn, bạn được gọi trước.",
                      "You booked {start}: within your time you are called first."),
    "ticket.booked_early": ("Bạn có lịch hẹn lúc {start}: từ giờ đó, bạn được gọi trước.",
                            "You booked {start}: from then on you are called first."),
    "ticket.booked_late": ("Bạn đến sau giờ hẹn {start}: xin mời chờ đến lượt như mọi người.",
                           "You came after your time ({start}): please wait for your turn like everyone."),
    "reader.offline": ("Đầu đọc thẻ đang không hoạt động. Bạn vẫn có thể lấy số.",
                       "The card reader is not working. You can still take a number."),
}


def t(key: str, lang: str = "vi", **values: object) -> str:
    """The sentence for ``key`` in ``lang``; device/card keys fall back to a general sentence."""
    pair = TEXT.get(key)
    if pair is None:
        if key.startswith("cccd."):
            pair = TEXT["cccd.unreadable"]
        elif key.startswith("appointment."):
            pair = TEXT["appointment.refused"]
        elif key.startswith(("printer.", "device.")):
            pair = TEXT["printer.error"]
        else:
            raise KeyError(key)
    text = pair[1 if lang == "en" else 0]
    return text.format(**values) if values else text


def wait_text(seconds: int | None, lang: str = "vi") -> str:
    if seconds is None:
        return t("wait.unknown", lang)
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return t("wait.minutes", lang, m=minutes)
    hours, rest = divmod(minutes, 60)
    return t("wait.hours", lang, h=hours, m=rest)


def fold(text: str) -> str:
    """Lower-case, no diacritics, đ→d, single spaces: "Đăng ký" and "dang ky" fold alike."""
    text = text.casefold().replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(bare.split())
