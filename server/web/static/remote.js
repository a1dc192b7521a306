// The remote join form: one key per form, so a double tap or a retry returns the same ticket.
(function () {
  var cfg = window.MOTCUA_REMOTE, en = cfg.lang === "en";
  var form = document.getElementById("join-form");
  if (!form) return;
  function newKey() {
    var bytes = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return "r-" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  var key = newKey(), busy = false;
  function showError(text) {
    var box = document.getElementById("join-error");
    box.textContent = text || ""; box.hidden = !text;
  }
  form.addEventListener("input", function () { key = newKey(); });  // a changed form is a new request
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (busy) return;
    busy = true; showError("");
    var service = form.querySelector("input[name=service]:checked");
    fetch("/api/v1/sites/" + encodeURIComponent(cfg.site) + "/remote-tickets", {
      method: "POST", headers: {"Content-Type": "application/json"}, cache: "no-store",
      body: JSON.stringify({service: service ? service.value : "", phone: document.getElementById("join-phone").value,
                            idempotency_key: key})
    }).then(function (r) { return r.json().then(function (j) { return {ok: r.ok, body: j}; }); })
      .then(function (res) {
        busy = false;
        if (res.ok) { window.location.assign("/t/" + encodeURIComponent(res.body.token) + (en ? "?lang=en" : "")); return; }
        var msg = (res.body.error && res.body.error.message) || "";
        var parts = msg.split(" / ");
        showError(en && parts[1] ? parts[1] : parts[0]);
      })
      .catch(function () { busy = false; showError(en ? "No connection. Please try again." : "Mất kết nối. Vui lòng thử lại."); });
  });
})();
