// Signing a manager in and out of a report page (the dashboard and the province view), and the
// authorised GET both pages use. The token lives in sessionStorage; signing out also revokes it on
// the server, so a copy left behind is dead. The page gives its texts (T: badLogin, busy, failed(n),
// offline, forbidden(name), expired, badPeriod), what to do once signed in (onSignedIn) and what to
// forget on sign-out (onSignedOut).
window.motcuaSession = function (T, onSignedIn, onSignedOut) {
  "use strict";
  var MANAGERS = ["manager", "admin"];
  var s = {token: sessionStorage.getItem("motcua-token"), user: sessionStorage.getItem("motcua-user")};
  function $(id) { return document.getElementById(id); }

  s.show = function () {
    var signed = !!s.token;
    $("login").hidden = signed; $("dashboard").hidden = !signed; $("account").hidden = !signed;
    $("who").textContent = s.user || "";
    if (signed) onSignedIn();
  };
  s.signOut = function (message) {
    s.token = null; s.user = null;
    sessionStorage.removeItem("motcua-token"); sessionStorage.removeItem("motcua-user");
    onSignedOut();
    $("login-error").textContent = message || "";
    $("login-form").reset();
    s.show();
  };
  s.request = function (path) {
    return fetch(path, {headers: {Authorization: "Bearer " + s.token}}).catch(function () {
      throw {message: T.offline};
    }).then(function (r) {
      if (r.ok) return r;
      if (r.status === 401) { s.signOut(T.expired); throw {message: T.expired, quiet: true}; }
      if (r.status === 403) { var who = s.user; s.signOut(T.forbidden(who)); throw {message: T.forbidden(who), quiet: true}; }
      if (r.status === 422) throw {message: T.badPeriod};
      throw {message: T.failed(r.status)};
    });
  };
  $("login-form").onsubmit = function (ev) {
    ev.preventDefault();
    var form = new FormData(ev.target), name = String(form.get("username") || "").trim();
    $("login-error").textContent = "";
    fetch("/api/v1/auth/token", {method: "POST", body: new URLSearchParams(form)}).then(function (r) {
      if (r.ok) return r.json();
      throw new Error(r.status === 429 ? T.busy : r.status >= 500 ? T.failed(r.status) : T.badLogin);
    }, function () { throw new Error(T.offline); }).then(function (j) {
      if (MANAGERS.indexOf(j.role) < 0) { $("login-error").textContent = T.forbidden(name); ev.target.reset(); return; }
      s.token = j.access_token; s.user = name;
      sessionStorage.setItem("motcua-token", s.token); sessionStorage.setItem("motcua-user", s.user);
      s.show();
    }).catch(function (err) { $("login-error").textContent = err.message; });
  };
  $("logout").onclick = function () {
    if (s.token) fetch("/api/v1/auth/logout", {method: "POST", headers: {Authorization: "Bearer " + s.token}}).catch(function () {});
    s.signOut("");
  };
  return s;
};
