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
    cancelled: ["Đã hủy", "Cancelled"],
    set_aside: ["Đã qua lượt vì bạn chưa xác nhận có mặt. Hãy xác nhận để vào lại cuối hàng.",
                "Your turn passed before you checked in. Check in to join the end of the line."]
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
  // "Your turn is near": a banner always; sound and vibration where the browser allows (once).
  var audio = null;
  function unlockAudio() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (Ctx && !audio) audio = new Ctx();
      if (audio && audio.state === "suspended") audio.resume();
    } catch (e) { audio = null; }
  }
  document.addEventListener("touchstart", unlockAudio, {once: true, passive: true});
  document.addEventListener("click", unlockAudio, {once: true});
  function chime() {
    try {
      unlockAudio();
      if (!audio) return false;
      [0, 0.35, 0.7].forEach(function (at) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        osc.frequency.value = 880; gain.gain.value = 0.3;
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(audio.currentTime + at); osc.stop(audio.currentTime + at + 0.25);
      });
      return audio.state === "running";
    } catch (e) { return false; }
  }
  var nearKey = "motcua-near-" + cfg.token, title = document.title;
  function renderNear(s) {
    var banner = document.getElementById("near");
    var near = !!(s.notify && s.notify.near) && s.status === "waiting";
    banner.hidden = !near;
    document.title = near ? "🔔 " + title : title;
    if (!near) return;
    var told = false;
    try { told = window.localStorage.getItem(nearKey) === "1"; } catch (e) { told = false; }
    if (told) return;
    var buzzed = !!(navigator.vibrate && navigator.vibrate([400, 150, 400, 150, 400]));
    var rang = chime();
    banner.setAttribute("data-alerted", [buzzed ? "vibrate" : "", rang ? "sound" : ""].join(" ").trim() || "banner");
    try { window.localStorage.setItem(nearKey, "1"); } catch (e) { /* private mode: may alert again */ }
  }
  // The phone form: a Vietnamese mobile number, refused clearly when it is not one.
  var form = document.getElementById("sms-form");
  function smsShow(st) {
    document.getElementById("sms-on").hidden = !st.phone;
    form.hidden = !!st.phone;
    if (st.phone) document.getElementById("sms-masked").textContent = st.phone;
  }
  function smsError(text) {
    var box = document.getElementById("sms-error");
    box.textContent = text || ""; box.hidden = !text;
  }
  function smsCall(method, body) {
    smsError("");
    return fetch(url + "/phone", {method: method, headers: {"Content-Type": "application/json"},
                                  body: body ? JSON.stringify(body) : undefined, cache: "no-store"})
      .then(function (r) { return r.json().then(function (j) { return {ok: r.ok, body: j}; }); })
      .then(function (res) {
        if (!res.ok) {
          var msg = (res.body.error && res.body.error.message) || "";
          var parts = msg.split(" / ");
          smsError(en && parts[1] ? parts[1] : parts[0]);
          return;
        }
        smsShow(res.body);
      })
      .catch(function () { smsError(en ? "No connection. Please try again." : "Mất kết nối. Vui lòng thử lại."); });
  }
  if (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault(); unlockAudio();
      smsCall("POST", {phone: document.getElementById("sms-phone").value});
    });
    document.getElementById("sms-remove").addEventListener("click", function () { smsCall("DELETE"); });
  }
  // A remote ticket: the QR for the kiosk and "Tôi đã đến" until it has checked in.
  function renderRemote(s) {
    var card = document.getElementById("remote");
    if (!card || !s.remote) return;
    var done = !!s.remote.checked_in;
    card.setAttribute("data-checked-in", done ? "yes" : "no");
    document.getElementById("remote-todo").hidden = done;
    document.getElementById("remote-ok").hidden = !done;
  }
  var checkin = document.getElementById("checkin");
  if (checkin) {
    checkin.addEventListener("click", function () {
      unlockAudio();
      var box = document.getElementById("checkin-error");
      box.hidden = true;
      fetch(url + "/check-in", {method: "POST", cache: "no-store"})
        .then(function (r) { return r.json().then(function (j) { return {ok: r.ok, body: j}; }); })
        .then(function (res) {
          if (res.ok) { state.remote = {checked_in: true}; renderRemote(state); return; }
          var parts = ((res.body.error && res.body.error.message) || "").split(" / ");
          box.textContent = en && parts[1] ? parts[1] : parts[0]; box.hidden = false;
        })
        .catch(function () { box.textContent = en ? "No connection. Please try again." : "Mất kết nối. Vui lòng thử lại."; box.hidden = false; });
    });
  }
  function apply(s) {
    if (s.kind !== state.kind) { window.location.reload(); return; }
    if (s.kind === "ticket") { renderTicket(s); renderNear(s); renderRemote(s); }
    else if (s.status !== state.status || s.timeline.length !== state.timeline.length) { window.location.reload(); return; }
    state = s;
  }
  var url = "/api/v1/track/" + encodeURIComponent(cfg.token);
  if (state.kind === "ticket") { renderTicket(state); renderNear(state); renderRemote(state); }
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
