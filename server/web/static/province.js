// The province view: sign in, fetch /api/v1/province/report, draw every centre side by side, ranked,
// with its sync freshness and a link to its own dashboard. Bars are sized through the CSSOM (the page's
// policy refuses style="" in markup).
(function () {
  "use strict";
  var today = null, seq = 0, last = null;
  var COLUMNS = ["received", "to_handle", "resolved", "on_time_rate", "open_end", "open_past_due", "late_total"];
  var STALE_S = 15 * 60;
  var T = {
    badLogin: "Sai tên đăng nhập hoặc mật khẩu.",
    busy: "Đăng nhập quá nhiều lần, vui lòng thử lại sau ít phút.",
    offline: "Không kết nối được máy chủ. Vui lòng kiểm tra mạng và thử lại.",
    expired: "Phiên đăng nhập đã hết hạn, vui lòng đăng nhập lại.",
    forbidden: function (who) {
      return "Tài khoản " + (who || "này") + " không có quyền xem báo cáo này. Vui lòng đăng nhập bằng tài khoản quản lý.";
    },
    noDates: "Vui lòng chọn đủ ngày bắt đầu và ngày kết thúc.",
    reversed: "Ngày bắt đầu phải trước hoặc bằng ngày kết thúc.",
    badPeriod: "Kỳ báo cáo không hợp lệ (một báo cáo tối đa khoảng 3 năm).",
    failed: function (status) { return "Không tải được báo cáo (lỗi " + status + "). Vui lòng thử lại."; },
    loading: "Đang tải…",
    ticketsLoading: "Đang tính số liệu lượt phục vụ của kỳ này (kỳ dài có thể mất vài chục giây)…",
    none: "Chưa có trung tâm nào đăng ký với tỉnh."
  };
  function $(id) { return document.getElementById(id); }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function iso(y, m, d) { var x = new Date(y, m, d); return x.getFullYear() + "-" + pad(x.getMonth() + 1) + "-" + pad(x.getDate()); }
  function parts(s) { var p = s.split("-"); return [+p[0], +p[1] - 1, +p[2]]; }
  function dmy(s) { var p = s.split("-"); return p[2] + "/" + p[1] + "/" + p[0]; }
  function num(n) { return Number(n || 0).toLocaleString("vi-VN"); }
  function pct(v) {
    return v === null || v === undefined ? "—" : Number(v).toLocaleString("vi-VN", {maximumFractionDigits: 2}) + "%";
  }
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; }); }
  function when(isoTime) {  // the province's local time (Asia/Ho_Chi_Minh), whatever the PC's zone
    var d = new Date(isoTime);
    return d.toLocaleString("vi-VN", {timeZone: "Asia/Ho_Chi_Minh", day: "2-digit", month: "2-digit", year: "numeric",
                                      hour: "2-digit", minute: "2-digit", hour12: false});
  }
  function ago(s) {
    if (s < 90) return "vừa xong";
    if (s < 90 * 60) return Math.round(s / 60) + " phút trước";
    if (s < 36 * 3600) return Math.round(s / 3600) + " giờ trước";
    return Math.round(s / 86400) + " ngày trước";
  }

  // ---- signing in and out (signin.js) -------------------------------------------------------
  var session = window.motcuaSession(T, function () { load(today ? query() : ""); }, function () { today = null; });

  // ---- fetching ----------------------------------------------------------------------------
  var request = session.request;
  function query() {
    var from = $("from").value, to = $("to").value, rank = $("rank-by").value;
    if (!from || !to) throw {message: T.noDates};
    if (from > to) throw {message: T.reversed};
    return "?from=" + from + "&to=" + to + (rank ? "&rank_by=" + encodeURIComponent(rank) : "");
  }
  function status(state, text) { $("status").dataset.state = state; $("status").textContent = text || ""; }
  function fail(err) { status("error"); if (!err.quiet) $("message").textContent = err.message || T.failed("?"); }
  function load(q) {
    var mine = ++seq;
    $("message").textContent = "";
    status("loading", T.loading);
    request("/api/v1/province/report" + q).then(function (r) { return r.json(); }).then(function (d) {
      if (mine !== seq) return;
      if (!today) today = d.as_of;
      $("from").value = d.from; $("to").value = d.to;
      render(d);
      status("ready");
      loadTickets(mine, "?from=" + d.from + "&to=" + d.to + "&rank_by=" + encodeURIComponent(d.rank_by));
    }).catch(function (err) { if (mine === seq) fail(err); });
  }
  // The ticket report reads every called ticket of the period: asked for after the dossier
  // figures are on screen, so a long period never holds them back.
  function loadTickets(mine, q) {
    var section = $("tickets");
    section.dataset.state = "loading";
    $("ticket-centres").tBodies[0].innerHTML = '<tr><td colspan="11" class="empty">' + T.ticketsLoading + "</td></tr>";
    $("ticket-centres").tFoot.innerHTML = ""; $("ticket-services").innerHTML = "";
    request("/api/v1/province/report" + q + "&tickets=true").then(function (r) { return r.json(); }).then(function (d) {
      if (mine !== seq) return;
      renderTickets(d);
      section.dataset.state = "ready";
    }).catch(function (err) {
      if (mine !== seq) return;
      section.dataset.state = "error";
      $("ticket-centres").tBodies[0].innerHTML = '<tr><td colspan="11" class="empty">' +
        esc(err.message || T.failed("?")) + "</td></tr>";
    });
  }
  function reload() { try { load(query()); } catch (err) { fail(err); } }
  $("period-form").onsubmit = function (ev) { ev.preventDefault(); reload(); };
  $("rank-by").onchange = reload;
  Array.prototype.forEach.call(document.querySelectorAll("[data-preset]"), function (b) {
    b.onclick = function () {
      if (!today) { load(""); return; }
      var t = parts(today), kind = b.dataset.preset, from = today, to = today;
      if (kind === "month") from = iso(t[0], t[1], 1);
      if (kind === "year") from = iso(t[0], 0, 1);
      if (kind === "last-month") { from = iso(t[0], t[1] - 1, 1); to = iso(t[0], t[1], 0); }
      $("from").value = from; $("to").value = to;
      reload();
    };
  });
  $("xlsx").onclick = function () {
    var q;
    try { q = query(); } catch (err) { fail(err); return; }
    $("message").textContent = "";
    request("/api/v1/province/report" + q + "&format=xlsx&tickets=true").then(function (r) {
      var m = /filename="([^"]+)"/.exec(r.headers.get("Content-Disposition") || "");
      return r.blob().then(function (b) {
        var a = document.createElement("a");
        a.href = URL.createObjectURL(b); a.download = m ? m[1] : "bao-cao-tinh.xlsx"; a.hidden = true;
        document.body.appendChild(a); a.click(); a.remove();
        setTimeout(function () { URL.revokeObjectURL(a.href); }, 60000);
      });
    }).catch(fail);
  };

  // ---- drawing -----------------------------------------------------------------------------
  function cell(def, key, v) {
    return '<td data-label="' + esc(def.label) + '" data-c="' + esc(key + "." + def.key) + '">' +
      (def.rate ? pct(v) : num(v)) + "</td>";
  }
  function minutes(s) {
    return s === null || s === undefined ? "—" : (Math.round(s / 6) / 10).toLocaleString("vi-VN", {minimumFractionDigits: 1}) + " phút";
  }
  var TICKET_COLUMNS = [["issued", num], ["served", num], ["no_show", num], ["cancelled", num],
                        ["overall.wait_median_s", minutes], ["overall.wait_p90_s", minutes],
                        ["overall.service_median_s", minutes], ["ratings.very_satisfied", num],
                        ["ratings.satisfied", num], ["ratings.not_satisfied", num]];
  var SERVICE_COLUMNS = [["called", num, "Lượt được gọi"], ["served", num, "Đã phục vụ"],
                         ["wait_median_s", minutes, "Chờ — trung vị"], ["wait_p90_s", minutes, "Chờ — P90"],
                         ["service_median_s", minutes, "Phục vụ — trung vị"], ["service_p90_s", minutes, "Phục vụ — P90"]];
  function pick(obj, path) {
    return path.split(".").reduce(function (o, k) { return o === null || o === undefined ? o : o[k]; }, obj);
  }
  function ticketRow(key, label, t) {  // one centre's (or the province's) ticket report in one row
    var heads = $("ticket-centres").tHead.rows[0].cells;
    return '<tr data-centre="' + esc(key) + '"><td>' + esc(label) + "</td>" + TICKET_COLUMNS.map(function (c, i) {
      return '<td data-label="' + esc(heads[i + 1].textContent) + '" data-t="' + esc(key + ":" + c[0]) + '">' +
        c[1](pick(t, c[0])) + "</td>";
    }).join("") + "</tr>";
  }
  function renderTickets(d) {
    var table = $("ticket-centres");
    table.tBodies[0].innerHTML = d.centres.map(function (c) { return ticketRow(c.key, c.label, c.tickets); }).join("");
    table.tFoot.innerHTML = d.site ? "" : ticketRow("total", "Toàn tỉnh", d.tickets);
    $("ticket-services").innerHTML = d.centres.map(function (c) {  // a table per centre: by service
      var services = Object.keys(c.tickets.by_service);
      return '<h3>' + esc(c.label) + ' — theo dịch vụ</h3><table class="figures wide stack" data-services="' +
        esc(c.key) + '"><thead><tr><th>Dịch vụ</th>' + SERVICE_COLUMNS.map(function (x) {
          return "<th>" + x[2] + "</th>"; }).join("") + "</tr></thead><tbody>" +
        (services.map(function (name) {
          var s = c.tickets.by_service[name];
          return '<tr data-service="' + esc(name) + '"><td>' + esc(name) + "</td>" + SERVICE_COLUMNS.map(function (x) {
            return '<td data-label="' + x[2] + '" data-s="' + esc(x[0]) + '">' + x[1](s[x[0]]) + "</td>";
          }).join("") + "</tr>";
        }).join("") || '<tr><td colspan="' + (SERVICE_COLUMNS.length + 1) + '" class="empty">Chưa có lượt gọi nào trong kỳ.</td></tr>') +
        "</tbody></table>";
    }).join("");
  }
  function syncCell(s) {
    if (!s) return '<td data-label="Đồng bộ" class="sync stale" data-sync="none">chưa đăng ký</td>';
    var text, stale = false;
    if (s.broken) { text = "CHUỖI HỎNG: " + s.broken; stale = true; }
    else if (!s.synced_at) { text = "chưa đồng bộ"; stale = true; }
    else {
      text = when(s.synced_at) + " (" + ago(s.age_s) + ")";
      if (s.pending > 0) text += " · còn " + num(s.pending) + " sự kiện chưa lên tỉnh";
      stale = s.age_s > STALE_S || s.pending > 0;
    }
    if (s.unprojected > 0) text += " · " + num(s.unprojected) + " sự kiện trước khi có nhật ký, không tính";
    return '<td data-label="Đồng bộ" class="sync' + (stale ? " stale" : "") + '" data-sync="' +
      esc(s.synced_at || "") + '" data-pending="' + s.pending + '">' + esc(text) + "</td>";
  }
  function render(d) {
    last = d;
    var def = {};
    d.definitions.forEach(function (x) { def[x.key] = x; });
    var select = $("rank-by");
    if (!select.options.length) {
      select.innerHTML = d.definitions.map(function (x) {
        return '<option value="' + esc(x.key) + '">' + esc(x.label) + "</option>";
      }).join("");
    }
    select.value = d.rank_by;
    $("rank-label").textContent = def[d.rank_by].label;
    $("scope").textContent = d.site ? d.name : "Toàn tỉnh: " + num(d.centres.length) + " trung tâm";
    $("period-text").textContent = "Kỳ báo cáo: " + dmy(d.from) + " – " + dmy(d.to) +
      (d.as_of < d.to ? " (số liệu tính đến hết ngày " + dmy(d.as_of) + ")" : "");
    Array.prototype.forEach.call(document.querySelectorAll("[data-label]:not(td)"), function (el) {
      el.textContent = def[el.dataset.label] ? def[el.dataset.label].label : el.dataset.label;
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-k]"), function (el) {
      var k = el.dataset.k;
      el.textContent = def[k].rate ? pct(d.figures[k]) : num(d.figures[k]);
    });
    var table = $("centres"), rank = def[d.rank_by];
    table.tHead.innerHTML = "<tr><th>Hạng</th><th>Trung tâm</th><th>" + esc(rank.label) + "</th>" +
      COLUMNS.map(function (k) { return "<th>" + esc(def[k].label) + "</th>"; }).join("") + "<th>Đồng bộ</th></tr>";
    var values = d.centres.map(function (c) { return c.figures[d.rank_by] || 0; });
    var max = rank.rate ? 100 : Math.max.apply(null, values.concat([1]));
    table.tBodies[0].innerHTML = d.centres.map(function (c) {
      var v = c.figures[d.rank_by];
      return '<tr data-centre="' + esc(c.key) + '"><td class="rank" data-label="Hạng">' + (c.rank === null ? "—" : c.rank) +
        '</td><td><a class="drill" href="' + esc(c.drill) + '">' + esc(c.label) + '</a></td>' +
        '<td data-label="' + esc(rank.label) + '"><span class="bar-track"><span class="bar-fill" data-width="' +
        (100 * (v || 0) / max).toFixed(1) + '" title="' + esc(rank.rate ? pct(v) : num(v)) + '"></span></span></td>' +
        COLUMNS.map(function (k) { return cell(def[k], c.key, c.figures[k]); }).join("") + syncCell(c.sync) + "</tr>";
    }).join("") || '<tr><td colspan="' + (COLUMNS.length + 4) + '" class="empty">' + T.none + "</td></tr>";
    table.tFoot.innerHTML = d.site ? "" : '<tr><td></td><td>Toàn tỉnh</td><td></td>' +
      COLUMNS.map(function (k) { return cell(def[k], "total", d.figures[k]); }).join("") + "<td></td></tr>";
    Array.prototype.forEach.call(table.querySelectorAll(".bar-fill"), function (bar) {
      bar.style.width = bar.getAttribute("data-width") + "%";
      bar.style.background = "#2a6ebb";
    });
  }

  session.show();
})();
