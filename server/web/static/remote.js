// The remote join form. With verification: send a code, type it, then join with the proof it gives.
// One idempotency key per request, so a double tap or a retry returns the same ticket.
(function () {
  var cfg = window.MOTCUA_REMOTE, en = cfg.lang === "en";
  var form = document.getElementById("join-form");
  if (!form) return;
  function newKey() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return "r-" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  var key = newKey(), busy = false, verification = null, proof = null;
  function showError(text) {
    var box = document.getElementById("join-error");
    box.textContent = text || ""; box.hidden = !text;
  }
  function post(path, body) {
    return fetch(path, {method: "POST", headers: {"Content-Type": "application/json"}, cache: "no-store",
                        body: JSON.stringify(body)})
      .then(function (r) { return r.json().then(function (j) { return {ok: r.ok, body: j}; }); });
  }
  function refused(res) {
    var parts = ((res.body.error && res.body.error.message) || "").split(" / ");
    showError(en && parts[1] ? parts[1] : parts[0]);
  }
  function offline() { busy = false; showError(en ? "No connection. Please try again." : "Mất kết nối. Vui lòng thử lại."); }
  function phone() { return document.getElementById("join-phone").value; }
  function service() { var s = form.querySelector("input[name=service]:checked"); return s ? s.value : ""; }
  form.addEventListener("change", function () { key = newKey(); });  // another service: a new request
  document.getElementById("join-phone").addEventListener("input", function () { key = newKey(); proof = null; });
  function join() {
    var body = {service: service(), idempotency_key: key};
    if (cfg.verify) body.proof = proof; else body.phone = phone();
    return post("/api/v1/sites/" + encodeURIComponent(cfg.site) + "/remote-tickets", body).then(function (res) {
      busy = false;
      if (res.ok) { window.location.assign("/t/" + encodeURIComponent(res.body.token) + (en ? "?lang=en" : "")); return; }
      refused(res);
    });
  }
  var sendCode = document.getElementById("code-send");
  if (sendCode) {
    sendCode.addEventListener("click", function () {
      if (busy) return;
      busy = true; showError("");
      post("/api/v1/phone/verify/start", {phone: phone(), purpose: "remote"}).then(function (res) {
        busy = false;
        if (!res.ok) { refused(res); return; }
        verification = res.body.verification; proof = null;
        document.getElementById("code-step").hidden = false;
        document.getElementById("join-code").focus();
      }).catch(offline);
    });
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (busy) return;
    busy = true; showError("");
    if (!cfg.verify || proof) { join().catch(offline); return; }
    post("/api/v1/phone/verify/confirm", {verification: verification || "", code: document.getElementById("join-code").value})
      .then(function (res) {
        if (!res.ok) { busy = false; refused(res); return; }
        proof = res.body.proof;
        return join();
      }).catch(offline);
  });
})();
