// Live queue: Server-Sent Events from /evenements; the table is refreshed in place, never the page.
// No inline script anywhere (the CSP forbids it): this file is the console's only script.
(function () {
  "use strict";
  var table = document.getElementById("file");
  if (!table) { return; }
  var banner = document.getElementById("alerte");
  var bannerText = document.getElementById("alerte-texte");
  var seen = document.getElementById("alerte-vu");
  var expired = document.getElementById("session-finie");
  var live = document.getElementById("direct");
  var sound = document.getElementById("son");
  var title = document.title;
  var unseen = 0;
  var fresh = {};
  var PRIORITIES = { urgent: "urgent", high: "élevée", normal: "normale" };

  // The sound toggle is remembered on this computer only (no personal data in it).
  try { sound.checked = window.localStorage.getItem("nd-son") === "1"; } catch (e) { /* private mode */ }
  sound.addEventListener("change", function () {
    try { window.localStorage.setItem("nd-son", sound.checked ? "1" : "0"); } catch (e) { /* ignore */ }
  });

  function beep() {
    if (!sound.checked) { return; }
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)();
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      gain.gain.value = 0.2;
      osc.frequency.value = 880;
      osc.connect(gain); gain.connect(ctx.destination);
      osc.start(); osc.stop(ctx.currentTime + 0.3);
    } catch (e) { /* no audio: the banner is enough */ }
  }

  function sessionOver() {
    expired.hidden = false;
    live.textContent = "direct interrompu";
    if (source) { source.close(); }
  }

  function refresh() {
    var params = new URLSearchParams({ statut: table.dataset.statut || "", territoire: table.dataset.territoire || "" });
    fetch("/file?" + params.toString(), { credentials: "same-origin", redirect: "error" })
      .then(function (r) {
        if (r.status === 401) { sessionOver(); return Promise.reject(r.status); }
        return r.ok ? r.text() : Promise.reject(r.status);
      })
      .then(function (html) {
        document.getElementById("lignes").innerHTML = html;  // server-rendered and escaped
        Object.keys(fresh).forEach(function (ref) {
          var row = table.querySelector("tr[data-reference='" + ref + "']");
          if (row) { row.classList.add("arrive"); }
        });
      })
      .catch(function () { /* the next event or tick retries */ });
  }

  seen.addEventListener("click", function () {
    banner.hidden = true; unseen = 0; fresh = {}; document.title = title;
    Array.prototype.forEach.call(table.querySelectorAll("tr.arrive"), function (row) { row.classList.remove("arrive"); });
  });

  var source = new EventSource("/evenements");
  source.addEventListener("open", function () { live.textContent = "en direct"; });
  source.addEventListener("error", function () {
    if (source.readyState === EventSource.CLOSED) {
      // Refused (most likely a session that ended): say so rather than retrying forever.
      fetch("/file", { credentials: "same-origin", redirect: "error" })
        .then(function (r) { if (r.status === 401) { sessionOver(); } })
        .catch(function () { live.textContent = "direct interrompu"; });
    } else {
      live.textContent = "reconnexion…";
    }
  });
  source.addEventListener("fin", sessionOver);
  source.addEventListener("dossier", function (e) {
    var data = JSON.parse(e.data);
    if (data.type === "cree") {
      unseen += 1;
      fresh[data.reference] = true;
      bannerText.textContent = (unseen > 1 ? unseen + " nouveaux dossiers, dernier : " : "Nouveau dossier ") +
        data.reference + " (priorité " + data.priorite + ", territoire " + (data.territoire || "?") + ").";
      banner.hidden = false;
      document.title = "(" + unseen + ") " + title;
      beep();
    } else if (data.type === "direct") {
      // She asked for a référent in the conversation, now: top of the queue, banner and sound.
      unseen += 1;
      fresh[data.reference] = true;
      bannerText.textContent = "Conversation en direct : elle attend un·e référent·e (dossier " + data.reference + ").";
      banner.hidden = false;
      document.title = "(" + unseen + ") " + title;
      beep();
    }
    refresh();
  });
  // The time left against each target moves even when nothing happens.
  window.setInterval(refresh, 60000);
}());
