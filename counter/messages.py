"""What the official reads: server error codes and terminal notices as plain Vietnamese sentences.

The server answers ``{"error": {"code", "message"}}``; its English ``message`` is for logs. The
terminal shows :func:`error_sentence` of the ``code``; an unknown code falls back to a generic
sentence that still names the code, so a new server error is never shown as a blank.
"""

from __future__ import annotations

ERRORS_VI: dict[str, str] = {
    "counter_not_open": "Quầy chưa mở hoặc đang tạm dừng. Hãy mở quầy trước khi gọi số.",
    "counter_busy": "Quầy đang có người được gọi hoặc đang phục vụ. Hãy gọi lại, bắt đầu, "
                    "hoặc đánh dấu vắng mặt trước.",
    "queue_empty": "Không còn ai đang chờ ở quầy này.",
    "try_again": "Số này đang được quầy khác gọi cùng lúc. Hãy bấm lại.",
    "invalid_transition": "Không thể làm việc này với số hiện tại (ví dụ: chưa bắt đầu thì chưa thể kết thúc).",
    "service_not_served": "Quầy này không phục vụ lĩnh vực của số đó. Hãy chuyển số sang quầy khác.",
    "reason_required": "Hãy nhập lý do tạm dừng quầy.",
    "unknown_ticket": "Không tìm thấy số này trong ngày hôm nay.",
    "unknown_counter": "Không có quầy này tại trung tâm.",
    "unknown_service": "Không có lĩnh vực này tại trung tâm.",
    "unknown_site": "Không có trung tâm này trên máy chủ. Kiểm tra lại cấu hình.",
    "bad_credentials": "Sai tên đăng nhập hoặc mật khẩu.",
    "unauthorized": "Phiên đăng nhập đã hết hạn. Hãy đăng nhập lại.",
    "invalid_token": "Phiên đăng nhập đã hết hạn. Hãy đăng nhập lại.",
    "token_expired": "Phiên đăng nhập đã hết hạn. Hãy đăng nhập lại.",
    "token_revoked": "Phiên đăng nhập đã bị thu hồi (đã đăng xuất hoặc quản trị viên thu hồi). Hãy đăng nhập lại.",
    "account_locked": "Tài khoản tạm thời bị khoá do nhập sai mật khẩu nhiều lần. Hãy thử lại sau ít phút "
                      "hoặc liên hệ quản trị viên.",
    "too_many_attempts": "Nhập sai mật khẩu quá nhiều lần từ máy này. Hãy chờ một phút rồi thử lại.",
    "login_busy": "Máy chủ đang bận kiểm tra đăng nhập. Hãy thử lại sau giây lát.",
    "forbidden": "Tài khoản này không có quyền làm việc này.",
    "wrong_site": "Tài khoản này thuộc trung tâm khác.",
    "invalid_request": "Thông tin gửi lên chưa đúng. Kiểm tra lại rồi thử lại.",
    "rate_limited": "Thao tác quá nhanh. Hãy chờ một chút rồi thử lại.",
    "offline": "Không kết nối được máy chủ. Kiểm tra mạng rồi thử lại.",
    "internal_error": "Máy chủ gặp lỗi. Hãy thử lại; nếu còn lỗi, báo cho quản trị.",
    "no_ticket": "Quầy chưa có số nào. Hãy gọi số tiếp theo trước.",
    "no_selection": "Hãy chọn một số trong danh sách chờ trước.",
    "ticket_id_unknown": "Máy trạm vừa khởi động lại nên chưa biết số đang phục vụ; hãy gọi số tiếp theo "
                         "hoặc gọi đúng số trong danh sách.",
    "not_logged_in": "Hãy đăng nhập trước.",
    # dossiers (server codes, then the terminal's own)
    "note_required": "Trạng thái này cần ghi rõ lý do. Hãy nhập lý do rồi cập nhật lại.",
    "unknown_status": "Trạng thái hồ sơ không hợp lệ.",
    "fact_not_applicable": "«Đã thanh toán trực tuyến» chỉ chọn khi kết thúc bước nộp phí (sang «Đang xử lý» hoặc "
                           "«Đã xử lý xong»); «Đã số hóa» chỉ chọn khi tiếp nhận hoặc khi cập nhật «Đã xử lý xong».",
    "unknown_procedure": "Không có thủ tục này tại trung tâm. Hãy chọn thủ tục trong danh sách.",
    "unknown_dossier": "Không tìm thấy hồ sơ có mã này.",
    "apology_not_due": "Hồ sơ chưa quá hạn hẹn trả nên chưa cần văn bản xin lỗi (Mẫu 04).",
    "invalid_appointment": "Ngày hẹn mới phải là một ngày làm việc sau hôm nay.",
    "out_of_order": "Thời điểm thay đổi sớm hơn lần thay đổi trước; hãy thử lại.",
    "not_received": "Hồ sơ chưa được tiếp nhận nên chưa có phiếu.",
    "no_apology": "Hồ sơ này chưa có văn bản xin lỗi nào.",
    "site_required": "Chưa rõ hồ sơ thuộc trung tâm nào. Kiểm tra lại cấu hình quầy.",
    "not_serving": "Hãy bấm «Bắt đầu» (F3) phục vụ số đang gọi trước khi tiếp nhận hồ sơ.",
    "procedure_required": "Hãy chọn thủ tục của hồ sơ.",
    "name_required": "Hãy nhập họ tên người nộp hồ sơ.",
    "phone_invalid": "Số điện thoại chưa đúng (chỉ gồm chữ số, 8–19 số). Để trống nếu không có.",
    "no_dossier": "Hãy chọn hoặc nhập mã hồ sơ trước.",
    "nothing_to_print": "Chưa có phiếu nào để in lại.",
    "no_printer": "Quầy này chưa cấu hình máy in phiếu.",
    "invalid_date": "Ngày hẹn mới chưa đúng; hãy nhập theo dạng ngày/tháng/năm, ví dụ 25/12/2025.",
}

GENERIC_VI = "Không thực hiện được ({code}). Hãy thử lại; nếu còn lỗi, báo cho quản trị."


def error_sentence(code: str) -> str:
    """The sentence for a server (or terminal) error code; never empty."""
    return ERRORS_VI.get(code) or GENERIC_VI.format(code=code)


STATUS_VI = {"open": "Đang mở", "paused": "Tạm dừng", "closed": "Đã đóng"}
TICKET_STATUS_VI = {
    "waiting": "Đang chờ", "called": "Đã gọi", "serving": "Đang phục vụ", "done": "Đã xong",
    "no_show": "Vắng mặt", "parked": "Tạm gác", "transferred": "Đã chuyển", "cancelled": "Đã huỷ",
}
PRIORITY_VI = {
    "elderly": "Người cao tuổi", "disabled": "Người khuyết tật", "pregnant": "Phụ nữ mang thai",
    "infant": "Có con nhỏ", "merit": "Người có công",
}

DONE_VI = {
    "call": "Đã gọi số {number}.",
    "recall": "Đã gọi lại số {number}.",
    "start": "Bắt đầu phục vụ số {number}.",
    "finish": "Đã xong số {number}.",
    "no-show": "Số {number} vắng mặt.",
    "park": "Đã tạm gác số {number}.",
    "resume": "Số {number} đã quay lại hàng chờ.",
    "transfer": "Đã chuyển số {number}.",
    "open": "Quầy đã mở.",
    "pause": "Quầy tạm dừng.",
    "close": "Quầy đã đóng.",
    "receive": "Đã tiếp nhận hồ sơ {code}, hẹn trả {due}.",
    "receive_printed": "Đã tiếp nhận hồ sơ {code}, hẹn trả {due}. Đã in phiếu tiếp nhận.",
    "status": "Hồ sơ {code}: {label}.",
    "apology": "Đã ghi văn bản xin lỗi hồ sơ {code}, hẹn trả mới {due}.",
    "apology_printed": "Đã ghi và in văn bản xin lỗi hồ sơ {code}, hẹn trả mới {due}.",
    "reprint": "Đã in lại phiếu hồ sơ {code}.",
}

WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")

DOSSIER_STATUS_VI = {  # the portal's wording (server/domain/dossiers.py), in the order an official uses
    "processing": "Đang xử lý", "supplement_requested": "Yêu cầu bổ sung giấy tờ",
    "fee_due": "Yêu cầu thực hiện nghĩa vụ tài chính", "paused": "Dừng xử lý", "resolved": "Đã xử lý xong",
    "returned": "Đã trả kết quả", "withdrawn": "Công dân yêu cầu rút hồ sơ", "refused": "Không được tiếp nhận",
    "received": "Được tiếp nhận",
}
CHANNEL_VI = {"direct": "Trực tiếp", "online": "Trực tuyến", "postal": "Bưu chính"}
PRINTER_FAULT_VI = {
    "printer.paper_out": "Máy in hết giấy", "printer.offline": "Máy in không kết nối được",
    "printer.timeout": "Máy in không trả lời", "printer.layout": "Phiếu không vừa khổ giấy của máy in",
}
SLIP_VI = {"01": "hồ sơ đã được tiếp nhận", "04": "văn bản xin lỗi đã được ghi nhận cho hồ sơ"}


def print_failed_sentence(fault: str, form: str, code: str, due: str) -> str:
    """A printer (or slip) fault after the server already has the dossier: say it is safe."""
    what = PRINTER_FAULT_VI.get(fault, "Không in được phiếu")
    return f"{what} — {SLIP_VI[form]}, mã {code}, hẹn trả {due}. Khắc phục máy in rồi bấm «In lại» (F10)."


def dossier_transition_sentence(code: str, current: str | None, wanted: str) -> str:
    """The server's ``invalid_transition`` for a dossier, with the two statuses named."""
    now = DOSSIER_STATUS_VI.get(current or "", current or "hiện tại")
    return (f"Hồ sơ {code} đang ở trạng thái «{now}», không chuyển sang «{DOSSIER_STATUS_VI.get(wanted, wanted)}» "
            "được. Hãy làm đúng thứ tự (ví dụ: «Đã xử lý xong» rồi mới «Đã trả kết quả»).")
