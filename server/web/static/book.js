// The booking page: choose a service and a slot, confirm the phone by SMS code, book. No framework.
(function () {
  var cfgNode = document.getElementById("book-cfg");
  // no inline script: the page carries no nonce, so the server can reuse it for every phone
  var cfg = {site: cfgNode.getAttribute("data-site"), lang: cfgNode.getAttribute("data-lang")}, en = cfg.lang === "en";
  var chosen = {service: null, day: null, start: null, label: ""}, verification = null, proof = null;
  var KEY = "motcua.booking." + cfg.site;
  function $(id) { return document.getElementById(id); }
  function showError(message) { var e = $("error"); e.textContent = message; e.hidden = !message; }
  function fail(r) {
    return r.json().then(function (b) {
      var m = (b && b.error && b.error.message) || "";
      // the server's sentences are "Vietnamese. / English."
      var parts = m.split(" / ");
      showError(en && parts.length > 1 ? parts.slice(1).join(" / ") : parts[0]);
    }, function () { showError(en ? "Something went wrong; try again." : "Có lỗi, vui lòng thử lại."); });
  }
  function post(url, body) {
    return fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  }
  function select(nodes, node) { nodes.forEach(function (n) { n.classList.toggle("on", n === node); }); }
  var svcButtons = Array.prototype.slice.call(document.querySelectorAll(".svc"));
  var slotButtons = Array.prototype.slice.call(document.querySelectorAll(".slot"));
  svcButtons.forEach(function (b) {
    b.addEventListener("click", function () {
      select(svcButtons, b);
      chosen.service = b.getAttribute("data-service");
      document.querySelectorAll(".svc-days").forEach(function (d) {
        d.hidden = d.getAttribute("data-service") !== chosen.service;
      });
      $("step-slot").hidden = false;
      showError("");
    });
  });
  slotButtons.forEach(function (b) {
    b.addEventListener("click", function () {
      select(slotButtons, b);
      chosen.day = b.getAttribute("data-day");
      chosen.start = b.getAttribute("data-start");
      var day = chosen.day.split("-");
      chosen.label = b.firstChild.textContent.trim() + " " + day[2] + "/" + day[1] + "/" + day[0];
      $("summary").textContent = chosen.label;
      $("step-phone").hidden = false;
      $("step-book").hidden = !proof;
      showError("");
    });
  });
  if ($("phone-form")) $("phone-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    showError("");
    post("/api/v1/phone/verify/start", {phone: $("phone").value, purpose: "booking"}).then(function (r) {
      if (!r.ok) return fail(r);
      return r.json().then(function (b) {
        verification = b.verification;
        $("masked").textContent = b.phone;
        $("code-form").hidden = false;
        $("code").focus();
      });
    });
  });
  if ($("code-form")) $("code-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    showError("");
    post("/api/v1/phone/verify/confirm", {verification: verification, code: $("code").value}).then(function (r) {
      if (!r.ok) return fail(r);
      return r.json().then(function (b) {
        // kept for this tab only (30 minutes on the server): come back to book again or cancel
        try { sessionStorage.setItem(KEY, JSON.stringify({proof: b.proof, phone: b.phone})); } catch (e) { /* private mode */ }
        verified(b.proof, b.phone);
      });
    });
  });
  function verified(p, phone) {
    proof = p;
    $("phone-form").hidden = true;
    $("code-form").hidden = true;
    $("verified-phone").textContent = phone;
    $("verified").hidden = false;
    $("step-book").hidden = !chosen.start;
    loadMine();
  }
  function loadMine() {
    post("/api/v1/sites/" + encodeURIComponent(cfg.site) + "/appointments/mine", {proof: proof}).then(function (r) {
      if (!r.ok) return;
      return r.json().then(function (b) {
        var list = $("mine-list");
        list.innerHTML = "";
        b.appointments.forEach(function (a) {
          var li = document.createElement("li"), link = document.createElement("a");
          link.href = a.url;
          link.textContent = a.start + "–" + a.end + " " + a.day.split("-").reverse().join("/") + " · " +
            (en ? a.service.name_en : a.service.name_vi) + " (" + a.code + ")";
          li.appendChild(link);
          list.appendChild(li);
        });
        $("mine").hidden = !b.appointments.length;
      });
    });
  }
  if ($("phone-form")) {
    try {
      var kept = JSON.parse(sessionStorage.getItem(KEY) || "null");
      if (kept && kept.proof) verified(kept.proof, kept.phone);
    } catch (e) { /* nothing kept */ }
  }
  if ($("book")) $("book").addEventListener("click", function () {
    showError("");
    var body = {service: chosen.service, day: chosen.day, start: chosen.start, proof: proof};
    var cccd = $("cccd").value.replace(/\s/g, "");
    if (cccd) body.cccd = cccd;
    $("book").disabled = true;
    post("/api/v1/sites/" + encodeURIComponent(cfg.site) + "/appointments", body).then(function (r) {
      $("book").disabled = false;
      if (!r.ok) {
        if (r.status === 403) { try { sessionStorage.removeItem(KEY); } catch (e) { /* */ } }
        return fail(r);
      }
      return r.json().then(function (b) { window.location.href = b.url + (en ? "?lang=en" : ""); });
    }, function () {
      $("book").disabled = false;
      showError(en ? "No connection; try again." : "Mất kết nối, vui lòng thử lại.");
    });
  });
})();
