// The director's dashboard: sign in, fetch the report JSON, draw bars as inline SVG (no CDN).
(function () {
  var site = window.MOTCUA_DASH.site, token = sessionStorage.getItem("motcua-token");
  function $(id) { return document.getElementById(id); }
  function iso(d) { return d.toISOString().slice(0, 10); }
  var today = new Date(); $("to").value = iso(today);
  $("from").value = iso(new Date(today.getFullYear(), today.getMonth(), 1));
  function bars(rows) {
    var max = Math.max.apply(null, rows.map(function (r) { return r[1]; }).concat([1]));
    var h = 34 * rows.length, svg = '<svg width="100%" viewBox="0 0 600 ' + h + '" role="img">';
    rows.forEach(function (r, i) {
      var w = Math.round(360 * r[1] / max), y = i * 34;
      svg += '<text x="0" y="' + (y + 22) + '" font-size="16">' + r[0] + '</text>' +
        '<rect x="200" y="' + (y + 6) + '" width="' + w + '" height="22" fill="' + (r[2] || "#b3261e") + '"></rect>' +
        '<text x="' + (206 + w) + '" y="' + (y + 22) + '" font-size="16">' + r[1] + '</text>';
    });
    return svg + "</svg>";
  }
  function get(path) {
    return fetch(path, {headers: {Authorization: "Bearer " + token}}).then(function (r) {
      if (r.status === 401) { token = null; sessionStorage.removeItem("motcua-token"); show(); throw new Error("401"); }
      return r.json();
    });
  }
  function query() { return "?from=" + $("from").value + "&to=" + $("to").value; }
  function load() {
    var base = "/api/v1/sites/" + encodeURIComponent(site) + "/reports/";
    get(base + "dossiers" + query()).then(function (d) {
      $("dossier-chart").innerHTML = bars([
        ["Tiếp nhận", d.received.total, "#555"], ["Trực tuyến", d.received.online, "#777"],
        ["Trước hạn", d.resolved.ahead, "#1b6e20"], ["Đúng hạn", d.resolved.on_time, "#4c9a2a"],
        ["Trễ hạn", d.resolved.late, "#b3261e"], ["Đang xử lý trong hạn", d.in_progress.within, "#2a6ebb"],
        ["Đang xử lý quá hạn", d.in_progress.past_due, "#e06c00"], ["Tạm dừng", d.paused], ["Rút", d.withdrawn],
        ["Từ chối", d.refused]]);
    });
    get(base + "tickets" + query()).then(function (t) {
      $("ticket-chart").innerHTML = bars([["Phiếu cấp", t.issued, "#555"], ["Đã phục vụ", t.served, "#1b6e20"],
        ["Vắng mặt", t.no_show, "#b3261e"], ["Rất hài lòng", t.ratings.very_satisfied, "#1b6e20"],
        ["Hài lòng", t.ratings.satisfied, "#4c9a2a"], ["Không hài lòng", t.ratings.not_satisfied, "#b3261e"]]);
      var m = t.overall.wait_median_s;
      $("ticket-facts").textContent = "Chờ trung vị: " + (m === null ? "—" : Math.round(m / 60) + " phút") +
        " · Sai số dự báo: " + (t.estimate.mean_abs_error_s === null ? "—" : Math.round(t.estimate.mean_abs_error_s / 60) + " phút");
    });
  }
  function download(kind) {
    fetch("/api/v1/sites/" + encodeURIComponent(site) + "/reports/" + kind + query() + "&format=xlsx",
      {headers: {Authorization: "Bearer " + token}}).then(function (r) { return r.blob(); }).then(function (b) {
      var a = document.createElement("a"); a.href = URL.createObjectURL(b); a.download = kind + ".xlsx"; a.click();
    });
  }
  function show() {
    var signed = !!token;
    $("login").hidden = signed; $("period").hidden = !signed; $("dossiers").hidden = !signed; $("tickets").hidden = !signed;
    if (signed) load();
  }
  $("login-form").onsubmit = function (ev) {
    ev.preventDefault();
    fetch("/api/v1/auth/token", {method: "POST", body: new URLSearchParams(new FormData(ev.target))})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(); })
      .then(function (j) { token = j.access_token; sessionStorage.setItem("motcua-token", token); show(); })
      .catch(function () { $("login-error").textContent = "Sai tên đăng nhập hoặc mật khẩu"; });
  };
  $("reload").onclick = load;
  $("xlsx-d").onclick = function (e) { e.preventDefault(); download("dossiers"); };
  $("xlsx-t").onclick = function (e) { e.preventDefault(); download("tickets"); };
  show();
})();
