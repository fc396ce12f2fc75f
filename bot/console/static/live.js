// Live takeover on a case page: her messages appear within a second (polled JSON, escaped with
// textContent), the référent's message is sent without reloading. No inline script (CSP).
(function () {
  "use strict";
  var panel = document.getElementById("direct");
  if (!panel) { return; }
  var ref = panel.dataset.reference;
  var csrf = panel.dataset.csrf;
  var log = document.getElementById("direct-journal");
  var state = document.getElementById("direct-etat");
  var alert = document.getElementById("direct-alerte");
  var form = document.getElementById("direct-form");
  var seen = {};
  var LABELS = { elle: "Elle", assistant: "Assistant (urgence)", info: "Info" };
  if (log) {
    Array.prototype.forEach.call(log.querySelectorAll("p[data-id]"), function (p) { seen[p.dataset.id] = true; });
  }

  function add(m) {
    if (!log || seen[m.id]) { return; }
    seen[m.id] = true;
    var p = document.createElement("p");
    p.className = "m-" + m.auteur + (m.danger ? " danger" : "");
    p.dataset.id = m.id;
    var who = document.createElement("span");
    who.className = "petit";
    who.textContent = m.heure + " · " + (LABELS[m.auteur] || m.qui);
    p.appendChild(who);
    p.appendChild(document.createTextNode(" " + m.texte));
    log.appendChild(p);
    if (m.danger && m.auteur === "elle") {
      alert.hidden = false;
      alert.textContent = "DANGER : elle vient d'écrire un message de danger. La réponse d'urgence (17, 112, SMS 114) lui a été envoyée.";
    }
  }

  var last = null;
  function poll() {
    fetch("/dossiers/" + ref + "/direct/messages", { credentials: "same-origin", redirect: "error",
                                                     headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        data.messages.forEach(add);
        if (last !== null && last !== data.etat) { window.location.reload(); }
        last = data.etat;
      })
      .catch(function () { /* the next tick retries */ });
  }
  window.setInterval(poll, 1000);

  if (form) {
    var box = document.getElementById("direct-message");
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = box.value;
      if (!text.trim()) { return; }
      var body = new URLSearchParams({ csrf: csrf, message: text });
      fetch(form.action, { method: "POST", credentials: "same-origin", redirect: "error", body: body,
                           headers: { Accept: "application/json" } })
        .then(function (r) { return r.json().then(function (d) { return [r.ok, d]; }); })
        .then(function (res) {
          if (res[0]) { box.value = ""; poll(); box.focus(); }
          else { state.textContent = res[1].erreur || "Message non envoyé."; }
        })
        .catch(function () { state.textContent = "Message non envoyé : réessayez."; });
    });
    box.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
    });
  }
}());
