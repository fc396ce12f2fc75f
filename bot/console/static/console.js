// Live queue: Server-Sent Events from /evenements; the table is refreshed in place, never the page.
(function () {
  "use strict";
  var table = document.getElementById("file");
  if (!table || !window.EventSource) { return; }
  var banner = document.getElementById("alerte");
  var sound = document.getElementById("son");
  function beep() {
    if (!sound || !sound.checked) { return; }
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)();
      var osc = ctx.createOscillator();
      osc.frequency.value = 880; osc.connect(ctx.destination); osc.start(); osc.stop(ctx.currentTime + 0.25);
    } catch (e) { /* no audio: the banner is enough */ }
  }
  function refresh() {
    var params = new URLSearchParams({ statut: table.dataset.statut || "", territoire: table.dataset.territoire || "" });
    fetch("/file?" + params.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) { document.getElementById("lignes").innerHTML = html; })
      .catch(function () { /* next event retries */ });
  }
  var source = new EventSource("/evenements");
  source.addEventListener("dossier", function (e) {
    var data = JSON.parse(e.data);
    if (data.type === "cree") {
      banner.textContent = "Nouveau dossier " + data.reference + " (priorité " + data.priorite + ").";
      banner.hidden = false;
      beep();
    }
    refresh();
  });
}());
