// The director's dashboard: sign in, fetch the report JSON, draw it as figures and inline SVG bars
// (no CDN). The period defaults to the server's own (this month up to the site's today), so a PC
// in another time zone, or one whose clock is off, still asks for the right days.
(function () {
  "use strict";
  var site = window.MOTCUA_DASH.site, withTickets = window.MOTCUA_DASH.tickets !== false;
  var asked = /[?&]from=(\d{4}-\d{2}-\d{2})&to=(\d{4}-\d{2}-\d{2})/.exec(location.search);  // a drill-down's period
  var today = null, seq = 0;  // the site's today, from the first report; number of the latest load
  var T = {
    badLogin: "Sai tên đăng nhập hoặc mật khẩu.",
    busy: "Đăng nhập quá nhiều lần, vui lòng thử lại sau ít phút.",
    offline: "Không kết nối được máy chủ. Vui lòng kiểm tra mạng và thử lại.",
    expired: "Phiên đăng nhập đã hết hạn, vui lòng đăng nhập lại.",
    forbidden: function (who) {
      return "Tài khoản " + (who || "này") + " không có quyền xem báo cáo của trung tâm này. " +
        "Vui lòng đăng nhập bằng tài khoản lãnh đạo trung tâm.";
    },
    noDates: "Vui lòng chọn đủ ngày bắt đầu và ngày kết thúc.",
    reversed: "Ngày bắt đầu phải trước hoặc bằng ngày kết thúc.",
    badPeriod: "Kỳ báo cáo không hợp lệ (một báo cáo tối đa khoảng 3 năm).",
    failed: function (status) { return "Không tải được báo cáo (lỗi " + status + "). Vui lòng thử lại."; },
    loading: "Đang tải…",
    noOfficials: "Chưa có lượt phục vụ nào trong kỳ này."
  };

  function $(id) { return document.getElementById(id); }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function iso(y, m, d) { var x = new Date(y, m, d); return x.getFullYear() + "-" + pad(x.getMonth() + 1) + "-" + pad(x.getDate()); }
  function parts(s) { var p = s.split("-"); return [+p[0], +p[1] - 1, +p[2]]; }
  function dmy(s) { var p = s.split("-"); return p[2] + "/" + p[1] + "/" + p[0]; }
  function num(n) { return Number(n || 0).toLocaleString("vi-VN"); }
  function minutes(s) {
    return s === null || s === undefined ? "—" : (Math.round(s / 6) / 10).toLocaleString("vi-VN", {minimumFractionDigits: 1}) + " phút";
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; });
  }
  function pick(obj, path) { return path.split(".").reduce(function (o, k) { return o == null ? o : o[k]; }, obj); }

  // ---- signing in and out (signin.js) -------------------------------------------------------
  var session = window.motcuaSession(T, function () { syncLine(); load(today ? query() : asked ? "?from=" + asked[1] + "&to=" + asked[2] : ""); }, function () { today = null; });

  // ---- fetching ------------------------------------------------------------------------------
  var request = session.request;
  function base(kind) { return "/api/v1/sites/" + encodeURIComponent(site) + "/reports/" + kind; }
  function query() {
    var from = $("from").value, to = $("to").value;
    if (!from || !to) throw {message: T.noDates};
    if (from > to) throw {message: T.reversed};
    return "?from=" + from + "&to=" + to;
  }
  function status(state, text) { $("status").dataset.state = state; $("status").textContent = text || ""; }
  function fail(err) {
    status("error");
    if (!err.quiet) $("message").textContent = err.message || T.failed("?");
  }
  function load(q) {
    var mine = ++seq;
    $("message").textContent = "";
    status("loading", T.loading);
    Promise.all([request(base("dossiers") + q).then(function (r) { return r.json(); }),
                 withTickets ? request(base("tickets") + q).then(function (r) { return r.json(); }) : null])
      .then(function (res) {
        if (mine !== seq) return;  // an older answer arriving late
        if (!today) today = res[0].as_of;
        $("from").value = res[0].from; $("to").value = res[0].to;
        render(res[0], res[1]);
        status("ready");
      }).catch(function (err) { if (mine === seq) fail(err); });
  }
  function syncLine() {  // the province lag from the health checks ("chưa đồng bộ: 1.240 sự kiện, từ 08:12")
    if (!$("sync-line")) return;  // at the province itself
    fetch("/api/v1/health").then(function (r) { return r.json(); }).then(function (j) {
      var c = (j.checks || []).filter(function (x) { return x.name === "sync"; })[0];
      var shown = c && c.detail.indexOf("no province configured") < 0;
      $("sync-line").hidden = !shown;
      if (shown) $("sync-line").textContent = "Đồng bộ lên tỉnh: " + c.detail.split(" / ")[0];
    }).catch(function () {});
  }
  function reload() { syncLine(); try { load(query()); } catch (err) { fail(err); } }
  $("period-form").onsubmit = function (ev) { ev.preventDefault(); reload(); };
  Array.prototype.forEach.call(document.querySelectorAll("[data-preset]"), function (b) {
    b.onclick = function () {
      if (!today) { load(""); return; }  // the first report has not come yet: it is this month
      var t = parts(today), kind = b.dataset.preset, from = today, to = today;
      if (kind === "month") from = iso(t[0], t[1], 1);
      if (kind === "year") from = iso(t[0], 0, 1);
      if (kind === "last-month") { from = iso(t[0], t[1] - 1, 1); to = iso(t[0], t[1], 0); }
      $("from").value = from; $("to").value = to;
      reload();
    };
  });

  // ---- Excel ---------------------------------------------------------------------------------
  function download(kind) {
    var q;
    try { q = query(); } catch (err) { fail(err); return; }
    $("message").textContent = "";
    request(base(kind) + q + "&format=xlsx").then(function (r) {
      var m = /filename="([^"]+)"/.exec(r.headers.get("Content-Disposition") || "");
      var name = m ? m[1] : "bao-cao-" + kind + ".xlsx";
      return r.blob().then(function (b) {
        var a = document.createElement("a");
        a.href = URL.createObjectURL(b); a.download = name; a.hidden = true;
        document.body.appendChild(a); a.click(); a.remove();
        setTimeout(function () { URL.revokeObjectURL(a.href); }, 60000);
      });
    }).catch(fail);
  }
  $("xlsx-d").onclick = function () { download("dossiers"); };
  if ($("xlsx-t")) $("xlsx-t").onclick = function () { download("tickets"); };

  // ---- drawing -------------------------------------------------------------------------------
  // Bars are HTML, not a scaled SVG: their labels keep the page's font size on a phone.
  // Widths and colours go through the CSSOM: the page's policy (style-src 'self') refuses style="" in markup.
  function sizeBars(el) {
    Array.prototype.forEach.call(el.querySelectorAll(".bar-fill"), function (bar) {
      bar.style.width = bar.getAttribute("data-width") + "%";
      bar.style.background = bar.getAttribute("data-color");
    });
  }
  function drawBars(id, rows, label) {
    var el = $(id);
    el.innerHTML = bars(rows, label);
    sizeBars(el);
  }
  function bars(rows, label) {
    var max = Math.max.apply(null, rows.map(function (r) { return r[1]; }).concat([1]));
    return '<div class="bars" role="img" aria-label="' + esc(label) + '">' + rows.map(function (r) {
      return '<div class="bar-row"><span class="bar-label">' + esc(r[0]) + '</span><span class="bar-track">' +
        '<span class="bar-fill" data-width="' + (100 * r[1] / max).toFixed(1) + '" data-color="' + esc(r[2] || "#777") +
        '" title="' + esc(r[0] + ": " + num(r[1])) + '"></span></span><b class="bar-value">' + num(r[1]) + "</b></div>";
    }).join("") + "</div>";
  }
  var OFFICIAL_HEADS = ["Lượt được gọi", "Đã phục vụ", "Chờ — trung vị", "Phục vụ — trung vị", "Rất hài lòng",
                        "Hài lòng", "Không hài lòng"];
  function pct(v) {
    return v === null || v === undefined ? "—" : Number(v).toLocaleString("vi-VN", {maximumFractionDigits: 2}) + "%";
  }
  var BREAKDOWN = ["carried_over", "received", "to_handle", "resolved", "on_time_rate", "open_end", "open_past_due",
                   "late_total"];
  function drawBreakdown(d) {
    var kind = $("breakdown").value, rows = d.breakdowns[kind], label = {};
    d.definitions.forEach(function (def) { label[def.key] = def; });
    var head = "<th>" + esc($("breakdown").selectedOptions[0].textContent) + "</th>" + BREAKDOWN.map(function (k) {
      return "<th>" + esc(label[k].label) + "</th>";
    }).join("");
    $("dossier-breakdown").tHead.innerHTML = "<tr>" + head + "</tr>";
    $("dossier-breakdown").tBodies[0].innerHTML = rows.map(function (r) {
      return "<tr><td>" + esc(r.label) + "</td>" + BREAKDOWN.map(function (k) {
        var v = r.figures[k];
        return '<td data-label="' + esc(label[k].label) + '" data-b="' + esc(r.key + "." + k) + '">' +
          (label[k].rate ? pct(v) : num(v)) + "</td>";
      }).join("") + "</tr>";
    }).join("") || '<tr><td colspan="' + (BREAKDOWN.length + 1) + '" class="empty">Không có hồ sơ nào trong kỳ này.</td></tr>';
  }
  var lastDossiers = null;
  $("breakdown").onchange = function () { if (lastDossiers) drawBreakdown(lastDossiers); };
  function render(d, t) {
    lastDossiers = d;
    var label = {};
    d.definitions.forEach(function (def) { label[def.key] = def.label; });
    $("dossier-figures").tBodies[0].innerHTML = d.definitions.map(function (def) {
      return '<tr><td><span class="f-label">' + esc(def.label) + '</span><small class="f-def">' + esc(def.definition) +
        "</small></td><td " + (def.rate ? "data-r" : "data-k") + '="figures.' + def.key + '"></td></tr>';
    }).join("");
    Array.prototype.forEach.call(document.querySelectorAll("[data-label]:not(td)"), function (el) {
      el.textContent = label[el.dataset.label] || el.dataset.label;
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-k]"), function (el) {
      if (!t && /^(tickets|ratings)\./.test(el.dataset.k)) return;
      var k = el.dataset.k, v = k.indexOf("tickets.") === 0 ? t[k.slice(8)] : k.indexOf("ratings.") === 0 ? t.ratings[k.slice(8)] : pick(d, k);
      el.textContent = num(v);
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-r]"), function (el) {
      el.textContent = pct(pick(d, el.dataset.r));
    });
    $("period-text").textContent = "Kỳ báo cáo: " + dmy(d.from) + " – " + dmy(d.to) +
      (d.as_of < d.to ? " (số liệu tính đến hết ngày " + dmy(d.as_of) + ")" : "");
    var f = d.figures;
    drawBars("dossier-chart", [
      [label.resolved_ahead, f.resolved_ahead, "#1b6e20"], [label.resolved_on_time, f.resolved_on_time, "#4c9a2a"],
      [label.resolved_late, f.resolved_late, "#b3261e"], [label.withdrawn, f.withdrawn, "#777"],
      [label.refused, f.refused, "#555"], [label.open_within, f.open_within, "#2a6ebb"],
      [label.open_past_due, f.open_past_due, "#e06c00"]], "Tình trạng hồ sơ");
    drawBreakdown(d);
    var score = d.decision_766;
    $("score-766").tBodies[0].innerHTML = score.sub_indices.map(function (i) {
      return '<tr><td><span class="f-label">' + esc(i.code + " " + i.name) + '</span><small class="f-def">' +
        esc(i.formula) + "<br>" + esc(i.scoring) + "<br>Để nâng điểm: " + esc(i.to_raise) + '</small></td>' +
        '<td data-label="R">' + pct(i.ratio) + '</td><td data-label="Ngưỡng">' + pct(i.threshold) +
        '</td><td data-label="Điểm" data-score="' + esc(i.code) + '">' +
        (i.points === null ? "—" : Number(i.points).toLocaleString("vi-VN", {maximumFractionDigits: 2}) + " / " +
         Number(i.pmax).toLocaleString("vi-VN")) + "</td></tr>";
    }).join("") + score.not_computed.map(function (i) {
      return '<tr><td><span class="f-label">' + esc(i.code + " " + i.name) + '</span><small class="f-def">Cần: ' +
        esc(i.needs) + '</small></td><td colspan="3" class="empty">chưa tính được</td></tr>';
    }).join("");
    $("score-766-note").textContent = score.weights_note;
    if (!t) return;  // at the province: dossiers only
    drawBars("ticket-chart", [["Phiếu đã cấp", t.issued, "#555"], ["Đã phục vụ", t.served, "#1b6e20"],
      ["Vắng mặt", t.no_show, "#b3261e"], ["Đã hủy", t.cancelled, "#999"]], "Lượt phục vụ");
    drawBars("rating-chart", [["Rất hài lòng", t.ratings.very_satisfied, "#1b6e20"],
      ["Hài lòng", t.ratings.satisfied, "#4c9a2a"], ["Không hài lòng", t.ratings.not_satisfied, "#b3261e"]], "Mức độ hài lòng");
    $("ratings-total").textContent = num(t.ratings.total);
    $("wait-median").textContent = minutes(t.overall.wait_median_s);
    $("wait-p90").textContent = minutes(t.overall.wait_p90_s);
    $("service-median").textContent = minutes(t.overall.service_median_s);
    $("estimate-error").textContent = minutes(t.estimate.mean_abs_error_s);
    var fullNames = t.official_names || {};
    var names = Object.keys(t.by_official).concat(Object.keys(t.ratings.by_official)).filter(function (n, i, all) {
      return all.indexOf(n) === i;
    }).sort();
    var none = {called: 0, served: 0, wait_median_s: null, service_median_s: null};
    var zero = {very_satisfied: 0, satisfied: 0, not_satisfied: 0};
    $("by-official").tBodies[0].innerHTML = names.length ? names.map(function (n) {
      var s = t.by_official[n] || none, r = t.ratings.by_official[n] || zero;
      var cells = [num(s.called), num(s.served), minutes(s.wait_median_s), minutes(s.service_median_s),
                   num(r.very_satisfied), num(r.satisfied), num(r.not_satisfied)];
      return "<tr><td>" + esc(fullNames[n] || n) + "</td>" + cells.map(function (c, i) {
        return '<td data-label="' + esc(OFFICIAL_HEADS[i]) + '">' + c + "</td>";
      }).join("") + "</tr>";
    }).join("") : '<tr><td colspan="8" class="empty">' + T.noOfficials + "</td></tr>";
    renderAppointments(t.appointments);
    renderRemote(t.remote);
  }
  function renderRemote(r) {  // tickets taken from a phone (docs/remote.md)
    if (!r || !$("rm-issued")) return;
    $("rm-issued").textContent = num(r.issued);
    $("rm-sub").textContent = "đã có mặt " + num(r.checked_in) + " · để sang bên " + num(r.set_aside);
  }
  function renderAppointments(a) {
    $("appointments").hidden = !a;
    if (!a) return;
    $("ap-booked").textContent = num(a.totals.booked);
    $("ap-cancelled").textContent = num(a.totals.cancelled);
    $("ap-arrived").textContent = num(a.totals.arrived);
    $("ap-no-show").textContent = num(a.totals.no_show);
    $("ap-share").textContent = pct(a.tickets.appointment_pct);
    $("ap-kinds").textContent = "có hẹn " + num(a.tickets.appointment) + " · từ xa " + num(a.tickets.remote) +
      " · tại kiosk " + num(a.tickets.walk_in);
    var n = a.notices;
    $("ap-sent").textContent = num(n.turn_near.sent + n.reminders.sent);
    $("ap-failed").textContent = num(n.turn_near.failed + n.reminders.failed);
    var heads = ["Dịch vụ", "Đặt", "Đã đến", "Không đến", "Đã hủy"];
    $("ap-by-day").tBodies[0].innerHTML = a.appointments.length ? a.appointments.map(function (r) {
      var cells = [esc(r.service_name), num(r.booked), num(r.arrived), num(r.no_show), num(r.cancelled)];
      return "<tr><td>" + dmy(r.day) + "</td>" + cells.map(function (c, i) {
        return '<td data-label="' + esc(heads[i]) + '">' + c + "</td>";
      }).join("") + "</tr>";
    }).join("") : '<tr><td colspan="6" class="empty">Không có lịch hẹn nào trong kỳ này.</td></tr>';
  }

  session.show();
})();
