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
}

WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
