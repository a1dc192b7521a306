// Live tracking: Server-Sent Events (fallback: fetch every 10 s). No framework, no CDN.
(function () {
  var cfg = window.MOTCUA_TRACK, en = cfg.lang === "en";
  var state = JSON.parse(document.getElementById("state").textContent);
  var STATUS = {
    waiting: ["Đang chờ đến lượt", "Waiting for your turn"],
    called: ["Mời bạn đến quầy", "Please go to the counter"],
    serving: ["Đang được phục vụ", "Being served"],
    done: ["Đã phục vụ xong. Cảm ơn bạn!", "Done. Thank you!"],
    no_show: ["Đã qua lượt", "Your turn has passed"],
    parked: ["Tạm chờ bổ sung giấy tờ", "On hold: fetch the missing paper"],
    transferred: ["Đã chuyển sang lĩnh vực khác", "Transferred"],
    cancelled: ["Đã hủy", "Cancelled"]
  };
  function tr(pair) { return pair ? pair[en ? 1 : 0] : ""; }
  function waitText(s) {
    if (s === null || s === undefined) return "—";
    var m = Math.max(1, Math.round(s / 60));
    if (m < 60) return (en ? "~" : "~") + m + (en ? " min" : " phút");
    var h = Math.floor(m / 60), r = m % 60;
    return "~" + h + (en ? " h " : " giờ ") + (r ? r + (en ? " min" : " phút") : "");
  }
  function renderTicket(s) {
    var status = document.getElementById("status");
    var text = tr(STATUS[s.status]);
    if (s.counter && (s.status === "called" || s.status === "serving")) text += " — " + s.counter;
    status.textContent = text;
    status.className = "status " + s.status;
    document.getElementById("ticket").setAttribute("data-status", s.status);
    document.getElementById("ahead").textContent = s.ahead;
    document.getElementById("wait").textContent = waitText(s.est_wait_s);
    var list = document.getElementById("serving");
    list.innerHTML = "";
    if (!s.now_serving.length) {
      var li = document.createElement("li"); li.textContent = en ? "No counter is calling yet" : "Chưa có quầy nào gọi số";
      list.appendChild(li);
    }
    s.now_serving.forEach(function (c) {
      var li = document.createElement("li");
      if (c.ticket === s.number) li.className = "mine";
      var a = document.createElement("span"); a.textContent = c.counter;
      var b = document.createElement("b"); b.textContent = c.ticket;
      li.appendChild(a); li.appendChild(b); list.appendChild(li);
    });
  }
  function apply(s) {
    if (s.kind !== state.kind) { window.location.reload(); return; }
    if (s.kind === "ticket") renderTicket(s);
    else if (s.status !== state.status || s.timeline.length !== state.timeline.length) { window.location.reload(); return; }
    state = s;
  }
  if (state.kind === "ticket") renderTicket(state);
  var url = "/api/v1/track/" + encodeURIComponent(cfg.token);
  if (window.EventSource) {
    var source = new EventSource(url + "/events");
    source.onmessage = function (ev) {
      var s = JSON.parse(ev.data);
      if (s.kind === "gone") { source.close(); window.location.reload(); return; }
      apply(s);
    };
  } else {
    setInterval(function () {
      fetch(url, {cache: "no-store"}).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) { if (s) apply(s); });
    }, 10000);
  }
})();
