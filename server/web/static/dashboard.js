// The director's dashboard: sign in, fetch the report JSON, draw it as figures and inline SVG bars
// (no CDN). The period defaults to the server's own (this month up to the site's today), so a PC
// in another time zone, or one whose clock is off, still asks for the right days.
(function () {
  "use strict";
  var site = window.MOTCUA_DASH.site;
  var token = sessionStorage.getItem("motcua-token"), user = sessionStorage.getItem("motcua-user");
  var today = null, seq = 0;  // the site's today, from the first report; number of the latest load
  var MANAGERS = ["manager", "admin"];
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

  // ---- signing in and out --------------------------------------------------------------------
  function show() {
    var signed = !!token;
    $("login").hidden = signed; $("dashboard").hidden = !signed; $("account").hidden = !signed;
    $("who").textContent = user || "";
    if (signed) load(today ? query() : "");
  }
  function signOut(message) {
    token = null; user = null; today = null;
    sessionStorage.removeItem("motcua-token"); sessionStorage.removeItem("motcua-user");
    $("login-error").textContent = message || "";
    $("login-form").reset();
    show();
  }
  $("login-form").onsubmit = function (ev) {
    ev.preventDefault();
    var form = new FormData(ev.target), name = String(form.get("username") || "").trim();
    $("login-error").textContent = "";
    fetch("/api/v1/auth/token", {method: "POST", body: new URLSearchParams(form)}).then(function (r) {
      if (r.ok) return r.json();
      throw new Error(r.status === 429 ? T.busy : r.status >= 500 ? T.failed(r.status) : T.badLogin);
    }, function () { throw new Error(T.offline); }).then(function (j) {
      if (MANAGERS.indexOf(j.role) < 0) { $("login-error").textContent = T.forbidden(name); ev.target.reset(); return; }
      token = j.access_token; user = name;
      sessionStorage.setItem("motcua-token", token); sessionStorage.setItem("motcua-user", user);
      show();
    }).catch(function (err) { $("login-error").textContent = err.message; });
  };
  $("logout").onclick = function () {  // the server revokes the token too: a copy left behind is dead
    if (token) fetch("/api/v1/auth/logout", {method: "POST", headers: {Authorization: "Bearer " + token}}).catch(function () {});
    signOut("");
  };

  // ---- fetching ------------------------------------------------------------------------------
  function request(path) {
    return fetch(path, {headers: {Authorization: "Bearer " + token}}).catch(function () {
      throw {message: T.offline};
    }).then(function (r) {
      if (r.ok) return r;
      if (r.status === 401) { signOut(T.expired); throw {message: T.expired, quiet: true}; }
      if (r.status === 403) { var who = user; signOut(T.forbidden(who)); throw {message: T.forbidden(who), quiet: true}; }
      if (r.status === 422) throw {message: T.badPeriod};
      throw {message: T.failed(r.status)};
    });
  }
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
                 request(base("tickets") + q).then(function (r) { return r.json(); })])
      .then(function (res) {
        if (mine !== seq) return;  // an older answer arriving late
        if (!today) today = res[0].as_of;
        $("from").value = res[0].from; $("to").value = res[0].to;
        render(res[0], res[1]);
        status("ready");
      }).catch(function (err) { if (mine === seq) fail(err); });
  }
  function reload() { try { load(query()); } catch (err) { fail(err); } }
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
  $("xlsx-t").onclick = function () { download("tickets"); };

  // ---- drawing -------------------------------------------------------------------------------
  function bars(rows, label) {
    var max = Math.max.apply(null, rows.map(function (r) { return r[1]; }).concat([1]));
    var step = 30, h = step * rows.length + 4, left = 210, span = 300;
    var svg = '<svg viewBox="0 0 580 ' + h + '" width="100%" role="img" aria-label="' + esc(label) + '">';
    rows.forEach(function (r, i) {
      var w = Math.round(span * r[1] / max), y = i * step;
      svg += '<text x="' + (left - 8) + '" y="' + (y + 20) + '" font-size="14" text-anchor="end">' + esc(r[0]) + '</text>' +
        '<rect x="' + left + '" y="' + (y + 5) + '" width="' + span + '" height="20" fill="#eee"></rect>' +
        '<rect x="' + left + '" y="' + (y + 5) + '" width="' + w + '" height="20" fill="' + (r[2] || "#777") + '">' +
        '<title>' + esc(r[0]) + ": " + num(r[1]) + '</title></rect>' +
        '<text x="' + (left + span + 8) + '" y="' + (y + 20) + '" font-size="14" font-weight="bold">' + num(r[1]) + '</text>';
    });
    return svg + "</svg>";
  }
  function render(d, t) {
    Array.prototype.forEach.call(document.querySelectorAll("[data-k]"), function (el) {
      var k = el.dataset.k, v = k.indexOf("tickets.") === 0 ? t[k.slice(8)] : k.indexOf("ratings.") === 0 ? t.ratings[k.slice(8)] : pick(d, k);
      el.textContent = num(v);
    });
    $("period-text").textContent = "Kỳ báo cáo: " + dmy(d.from) + " – " + dmy(d.to) +
      (d.as_of < d.to ? " (số liệu tính đến " + dmy(d.as_of) + ")" : "");
    var good = d.resolved.ahead + d.resolved.on_time;
    $("on-time-rate").textContent = d.resolved.total ? Math.round(100 * good / d.resolved.total) + "%" : "—";
    $("closed-total").textContent = num(d.withdrawn) + " · " + num(d.refused) + " · " + num(d.paused);
    $("dossier-chart").innerHTML = bars([
      ["Giải quyết trước hạn", d.resolved.ahead, "#1b6e20"], ["Giải quyết đúng hạn", d.resolved.on_time, "#4c9a2a"],
      ["Giải quyết quá hạn", d.resolved.late, "#b3261e"], ["Đang giải quyết trong hạn", d.in_progress.within, "#2a6ebb"],
      ["Đang giải quyết quá hạn", d.in_progress.past_due, "#e06c00"], ["Tạm dừng xử lý", d.paused, "#8a6d3b"],
      ["Công dân rút hồ sơ", d.withdrawn, "#777"], ["Không được tiếp nhận", d.refused, "#555"],
      ["Chờ tiếp nhận", d.awaiting_acceptance, "#9b59b6"]], "Tình trạng hồ sơ");
    $("ticket-chart").innerHTML = bars([["Phiếu đã cấp", t.issued, "#555"], ["Đã phục vụ", t.served, "#1b6e20"],
      ["Vắng mặt", t.no_show, "#b3261e"], ["Đã hủy", t.cancelled, "#999"]], "Lượt phục vụ");
    $("rating-chart").innerHTML = bars([["Rất hài lòng", t.ratings.very_satisfied, "#1b6e20"],
      ["Hài lòng", t.ratings.satisfied, "#4c9a2a"], ["Không hài lòng", t.ratings.not_satisfied, "#b3261e"]], "Mức độ hài lòng");
    $("ratings-total").textContent = num(t.ratings.total);
    $("wait-median").textContent = minutes(t.overall.wait_median_s);
    $("wait-p90").textContent = minutes(t.overall.wait_p90_s);
    $("service-median").textContent = minutes(t.overall.service_median_s);
    $("estimate-error").textContent = minutes(t.estimate.mean_abs_error_s);
    var names = Object.keys(t.by_official).concat(Object.keys(t.ratings.by_official)).filter(function (n, i, all) {
      return all.indexOf(n) === i;
    }).sort();
    var none = {called: 0, served: 0, wait_median_s: null, service_median_s: null};
    var zero = {very_satisfied: 0, satisfied: 0, not_satisfied: 0};
    $("by-official").tBodies[0].innerHTML = names.length ? names.map(function (n) {
      var s = t.by_official[n] || none, r = t.ratings.by_official[n] || zero;
      return "<tr><td>" + esc(n) + "</td><td>" + num(s.called) + "</td><td>" + num(s.served) + "</td><td>" +
        minutes(s.wait_median_s) + "</td><td>" + minutes(s.service_median_s) + "</td><td>" + num(r.very_satisfied) +
        "</td><td>" + num(r.satisfied) + "</td><td>" + num(r.not_satisfied) + "</td></tr>";
    }).join("") : '<tr><td colspan="8" class="empty">' + T.noOfficials + "</td></tr>";
  }

  show();
})();
