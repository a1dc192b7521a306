// The appointment page: cancel with a second tap (no browser dialog, which some phones block).
(function () {
  var button = document.getElementById("cancel");
  if (!button) return;
  var armed = false;
  button.addEventListener("click", function () {
    if (!armed) {
      armed = true;
      button.textContent = button.getAttribute("data-confirm");
      return;
    }
    button.disabled = true;
    fetch("/api/v1/appointments/" + encodeURIComponent(button.getAttribute("data-token")) + "/cancel",
          {method: "POST"}).then(function (r) {
      if (r.ok) { window.location.reload(); return; }
      return r.json().then(function (b) {
        var e = document.getElementById("error");
        e.textContent = (b.error && b.error.message || "").split(" / ")[0];
        e.hidden = false;
        button.disabled = false;
      });
    });
  });
})();
