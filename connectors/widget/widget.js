/* Nouveau départ: the chat widget. Plain JS, no build step.
 *
 * Embed with one tag:  <script src="https://HOST/widget.js" defer></script>
 * (optional data-socket-url, data-quick-exit-url, data-advice-url override /widget-config.json).
 *
 * Discretion: nothing is written to localStorage, sessionStorage, IndexedDB, cookies or a
 * service worker; the conversation, its id and its resume token live in page memory only.
 * « Sortie rapide » (or Escape twice) blanks the page, closes the socket and replaces the
 * location, so Back does not come back.
 */
(function () {
  "use strict";
  if (window.__nouveauDepartWidget) { return; }
  window.__nouveauDepartWidget = true;

  var script = document.currentScript;
  var base = script && script.src ? new URL(script.src, location.href).origin : location.origin;
  var data = (script && script.dataset) || {};
  var config = {
    socketUrl: data.socketUrl || "",
    quickExitUrl: data.quickExitUrl || "https://meteofrance.com/",
    adviceUrl: data.adviceUrl || "https://arretonslesviolences.gouv.fr/"
  };
  var MAX_CHARS = 2000;
  var ACK_TIMEOUT_MS = 30000;

  var socket = null;
  var sessionId = null;
  var resumeToken = null;
  var pending = 0;
  var pendingErase = false;
  var erasedNotice = false;
  var lastEscape = 0;
  var exiting = false;
  var ui = {};

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === "className") { node.className = attrs[k]; } else { node.setAttribute(k, attrs[k]); }
      });
    }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function safeHttpUrl(value) {
    try {
      var u = new URL(value, location.href);
      return (u.protocol === "https:" || u.protocol === "http:") ? u.href : null;
    } catch (e) { return null; }
  }

  /* ---------- quick exit ---------- */
  function quickExit() {
    if (exiting) { return; }
    exiting = true;
    var target = safeHttpUrl(config.quickExitUrl) || "https://meteofrance.com/";
    try {
      document.title = "";
      document.documentElement.style.background = "#fff";
      if (document.body) {
        document.body.style.visibility = "hidden";
        while (document.body.firstChild) { document.body.removeChild(document.body.firstChild); }
      }
    } catch (e) { /* the page must go anyway */ }
    try { if (socket) { socket.io.opts.reconnection = false; socket.close(); } } catch (e) { /* idem */ }
    socket = null; sessionId = null; resumeToken = null;
    location.replace(target);
  }

  window.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" && event.key !== "Esc") { return; }
    var now = Date.now();
    if (now - lastEscape < 1200) { quickExit(); } else { lastEscape = now; }
  }, true);

  /* ---------- rendering ---------- */
  var LINK = /(https?:\/\/[^\s<>"«»]+|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:gouv\.fr|fr|org|com|net|eu)(?:\/[^\s<>"«»]*)?)/gi;

  function appendRichText(parent, text) {
    var last = 0;
    text.replace(LINK, function (match, _g, offset) {
      var clean = match.replace(/[.,;:!?)\]]+$/, "");
      var href = safeHttpUrl(/^https?:\/\//i.test(clean) ? clean : "https://" + clean);
      if (offset > last) { parent.appendChild(document.createTextNode(text.slice(last, offset))); }
      if (href) {
        var a = el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, clean);
        parent.appendChild(a);
      } else {
        parent.appendChild(document.createTextNode(clean));
      }
      last = offset + clean.length;
      return match;
    });
    if (last < text.length) { parent.appendChild(document.createTextNode(text.slice(last))); }
  }

  function addMessage(who, text) {
    var item = el("div", { className: "ndw-msg ndw-" + who });
    item.appendChild(el("span", { className: "ndw-sr" }, who === "user" ? "Vous : " : "Assistant : "));
    var body = el("span", { className: "ndw-text" });
    appendRichText(body, text);
    item.appendChild(body);
    ui.log.appendChild(item);
    ui.log.scrollTop = ui.log.scrollHeight;
    return item;
  }

  function addButtons(buttons) {
    var group = el("div", { className: "ndw-buttons", role: "group", "aria-label": "Réponses proposées" });
    buttons.forEach(function (b) {
      if (!b || typeof b.title !== "string" || typeof b.payload !== "string") { return; }
      var button = el("button", { type: "button", className: "ndw-choice" }, b.title);
      button.addEventListener("click", function () { send(b.payload, b.title); });
      group.appendChild(button);
    });
    if (group.childNodes.length) { ui.log.appendChild(group); ui.log.scrollTop = ui.log.scrollHeight; }
  }

  function onBotMessage(message) {
    if (!message || typeof message !== "object") { return; }
    if (typeof message.text === "string" && message.text) { addMessage("bot", message.text); }
    var buttons = message.quick_replies || message.buttons;
    if (Array.isArray(buttons) && buttons.length) { addButtons(buttons); }
  }

  function setStatus(text) { ui.status.textContent = text; }

  function showTyping(on) { ui.typing.hidden = !on; }

  function focusInput() {
    if (!ui.panel.hidden && ui.panel.contains(document.activeElement) || document.activeElement === document.body) {
      ui.input.focus();
    }
  }

  /* ---------- sending ---------- */
  function markFailed(item, text, reason) {
    clearFailed(item);
    item.classList.add("ndw-failed");
    var note = el("span", { className: "ndw-failnote" }, reason || "Message non envoyé.");
    var retry = el("button", { type: "button", className: "ndw-retry", "aria-label": "Réessayer l'envoi de ce message" }, "Réessayer");
    retry.addEventListener("click", function () { trySend(item, text); });
    note.appendChild(document.createTextNode(" "));
    note.appendChild(retry);
    item.appendChild(note);
    setStatus(reason || "Un message n'a pas pu être envoyé : vous pouvez le réessayer.");
  }

  function clearFailed(item) {
    item.classList.remove("ndw-failed");
    var note = item.querySelector(".ndw-failnote");
    if (note) { item.removeChild(note); }
  }

  function trySend(item, text) {
    clearFailed(item);
    if (!socket || !socket.connected || !sessionId) {
      markFailed(item, text, "Message non envoyé : pas de connexion pour l'instant.");
      return;
    }
    pending += 1;
    showTyping(true);
    socket.timeout(ACK_TIMEOUT_MS).emit("user_uttered", { message: text, session_id: sessionId }, function (err) {
      pending = Math.max(0, pending - 1);
      if (!pending) { showTyping(false); }
      if (err) {
        markFailed(item, text, "Envoi non confirmé : la connexion a été coupée.");
      } else {
        focusInput();
      }
    });
  }

  function send(text, shown) {
    if (typeof text !== "string" || !text.trim()) { return; }
    var item = addMessage("user", shown || text);
    trySend(item, text.slice(0, MAX_CHARS));
  }

  /* ---------- erase ---------- */
  function erase() {
    while (ui.log.firstChild) { ui.log.removeChild(ui.log.firstChild); }
    ui.input.value = "";
    if (socket && socket.connected && sessionId) {
      pendingErase = false;
      socket.emit("erase_request", {});
      setStatus("Effacement en cours…");
    } else {
      pendingErase = sessionId !== null;
      setStatus(pendingErase ? "Effacé de l'écran. Sur le serveur, ce sera fait dès le retour de la connexion."
                             : "Conversation effacée.");
    }
    ui.input.focus();
  }

  /* ---------- the socket ---------- */
  function connect() {
    if (socket || exiting) { return; }
    if (typeof window.io !== "function") { setStatus("Le service de discussion est indisponible pour l'instant."); return; }
    setStatus("Connexion…");
    socket = window.io(config.socketUrl || base.replace(/:\d+$/, ":5005"), {
      path: "/socket.io", transports: ["websocket"], reconnectionDelayMax: 5000, timeout: 10000,
      withCredentials: false
    });
    socket.on("connect", function () {
      socket.emit("session_request", { session_id: sessionId, resume_token: resumeToken });
    });
    socket.on("session_token", function (msg) {
      if (msg && typeof msg.session_id === "string" && typeof msg.resume_token === "string") {
        resumeToken = msg.resume_token;
      }
    });
    socket.on("session_confirm", function (msg) {
      var id = (msg && typeof msg === "object") ? msg.session_id : msg;
      if (typeof id !== "string") { return; }
      var resumed = id === sessionId;
      if (pendingErase && resumed) {
        pendingErase = false;
        sessionId = id;
        socket.emit("erase_request", {});
        return;
      }
      pendingErase = false;
      sessionId = id;
      if (erasedNotice) { erasedNotice = false; return; }   // keep « effacée » on screen
      setStatus(resumed ? "Connexion rétablie." : "Connectée. Vous pouvez écrire.");
    });
    socket.on("bot_uttered", onBotMessage);
    socket.on("erased", function (msg) {
      erasedNotice = true;
      setStatus(msg && msg.ok ? "Conversation effacée, ici et sur le serveur."
                              : "L'effacement sur le serveur a échoué : écrivez « effacer » pour réessayer.");
    });
    socket.on("disconnect", function () {
      if (exiting) { return; }
      if (pending) { showTyping(false); }
      setStatus(navigator.onLine === false ? "Hors connexion. Ce que vous écrivez est gardé ; je me reconnecte dès que possible."
                                           : "Connexion perdue, reconnexion…");
    });
    socket.on("connect_error", function () {
      setStatus("Connexion impossible pour l'instant, nouvel essai dans quelques secondes. Ce que vous écrivez est gardé.");
    });
  }

  window.addEventListener("offline", function () {
    // Close at once rather than wait for the heartbeat to notice.
    if (socket && !exiting) { socket.disconnect(); setStatus("Hors connexion. Ce que vous écrivez est gardé ; je me reconnecte dès que possible."); }
  });
  window.addEventListener("online", function () {
    if (socket && !exiting && !socket.connected) { setStatus("Reconnexion…"); socket.connect(); }
  });

  /* ---------- building the widget ---------- */
  function build() {
    var link = el("link", { rel: "stylesheet", href: base + "/widget.css" });
    document.head.appendChild(link);

    var root = el("div", { className: "ndw-root" });
    ui.exit = el("button", { type: "button", className: "ndw-exit", "aria-describedby": "ndw-exit-hint" });
    ui.exit.appendChild(document.createTextNode("Sortie rapide"));
    ui.exit.appendChild(el("span", { className: "ndw-sr", id: "ndw-exit-hint" },
      " : quitte cette page tout de suite (ou appuyez deux fois sur Échap)"));
    ui.exit.addEventListener("click", quickExit);

    ui.launcher = el("button", { type: "button", className: "ndw-launcher", "aria-expanded": "false",
                                 "aria-controls": "ndw-panel" }, "Écrire à l'assistant");
    ui.panel = el("section", { id: "ndw-panel", className: "ndw-panel", "aria-labelledby": "ndw-title" });
    ui.panel.hidden = true;

    var header = el("div", { className: "ndw-header" });
    header.appendChild(el("h2", { id: "ndw-title", className: "ndw-title" }, "Discussion confidentielle"));
    ui.close = el("button", { type: "button", className: "ndw-close", "aria-label": "Réduire la discussion" }, "Réduire");
    header.appendChild(ui.close);

    var note = el("p", { className: "ndw-note" });
    note.appendChild(document.createTextNode(
      "« Sortie rapide » ou Échap deux fois ferme tout de suite cette page. Elle n'efface pas l'historique du navigateur " +
      "et ne protège pas un téléphone ou un ordinateur surveillé. "));
    ui.advice = el("a", { href: safeHttpUrl(config.adviceUrl) || "https://arretonslesviolences.gouv.fr/",
                          target: "_blank", rel: "noopener noreferrer" }, "Conseils pour vous protéger");
    note.appendChild(ui.advice);

    ui.log = el("div", { className: "ndw-log", role: "log", "aria-live": "polite", "aria-label": "Messages de la discussion", tabindex: "0" });
    ui.typing = el("p", { className: "ndw-typing" }, "L'assistant écrit…");
    ui.typing.hidden = true;
    ui.status = el("p", { className: "ndw-status", role: "status" });

    var form = el("form", { className: "ndw-form", novalidate: "" });
    var label = el("label", { for: "ndw-input", className: "ndw-sr" }, "Votre message");
    ui.input = el("textarea", { id: "ndw-input", className: "ndw-input", rows: "2", maxlength: String(MAX_CHARS),
                                autocomplete: "off", placeholder: "Écrivez votre message" });
    ui.sendButton = el("button", { type: "submit", className: "ndw-send" }, "Envoyer");
    form.appendChild(label); form.appendChild(ui.input); form.appendChild(ui.sendButton);
    ui.erase = el("button", { type: "button", className: "ndw-erase" }, "Effacer la conversation");

    ui.panel.appendChild(header); ui.panel.appendChild(note); ui.panel.appendChild(ui.log);
    ui.panel.appendChild(ui.typing); ui.panel.appendChild(ui.status); ui.panel.appendChild(form);
    ui.panel.appendChild(ui.erase);
    root.appendChild(ui.launcher); root.appendChild(ui.panel);

    // The exit button first in the tab order, the rest at the end of the page.
    document.body.insertBefore(ui.exit, document.body.firstChild);
    document.body.appendChild(root);

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = ui.input.value;
      if (!text.trim()) { ui.input.focus(); return; }
      ui.input.value = "";
      send(text);
      ui.input.focus();
    });
    ui.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit ? form.requestSubmit() : ui.sendButton.click();
      }
    });
    ui.launcher.addEventListener("click", function () { toggle(ui.panel.hidden); });
    ui.close.addEventListener("click", function () { toggle(false); });
    ui.erase.addEventListener("click", erase);
  }

  function toggle(open) {
    ui.panel.hidden = !open;
    ui.launcher.setAttribute("aria-expanded", open ? "true" : "false");
    ui.launcher.hidden = open;
    if (open) { connect(); ui.input.focus(); } else { ui.launcher.focus(); }
  }

  function loadScript(src, done) {
    if (typeof window.io === "function") { done(); return; }
    var s = el("script", { src: src });
    s.onload = done;
    s.onerror = done;
    document.head.appendChild(s);
  }

  function start() {
    build();
    var configReady = fetch(base + "/widget-config.json", { credentials: "omit", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (c) {
        // Attributes on the script tag win over the server's defaults.
        if (!data.socketUrl && typeof c.socketUrl === "string") { config.socketUrl = c.socketUrl; }
        if (!data.quickExitUrl && typeof c.quickExitUrl === "string") { config.quickExitUrl = c.quickExitUrl; }
        if (!data.adviceUrl && typeof c.adviceUrl === "string") {
          config.adviceUrl = c.adviceUrl;
          ui.advice.href = safeHttpUrl(c.adviceUrl) || ui.advice.href;
        }
      })
      .catch(function () { /* defaults stay */ });
    var ioReady = new Promise(function (resolve) { loadScript(base + "/vendor/socket.io.min.js", resolve); });
    // Opening the panel waits for both, so the socket goes to the configured server.
    connectGate = Promise.all([configReady, ioReady]);
  }

  var connectGate = null;
  var openSocket = connect;
  connect = function () { if (connectGate) { connectGate.then(openSocket); } };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
