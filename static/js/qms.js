/* Shared by every screen: the page's messages, JSON calls to the API, and a live Socket.IO
   connection that joins its rooms again after every reconnect (the server then sends a fresh
   snapshot), shows the offline notice while it is down, and keeps only news (seq). */
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("qms-data").textContent);

  function t(id, params) {
    let text = (data.messages && data.messages[id]) || id;
    for (const [k, v] of Object.entries(params || {})) text = text.split("{" + k + "}").join(v);
    return text;
  }

  async function api(method, path, body) {
    const headers = {"Accept": "application/json"};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (data.csrf) headers["X-CSRFToken"] = data.csrf;
    const sep = path.includes("?") ? "&" : "?";
    let response;
    // A request lost on flaky Wi-Fi must not hold the screen: give up after 10 s.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 10000);
    try {
      response = await fetch(path + sep + "lang=" + data.lang, {
        method, headers, credentials: "same-origin", signal: abort.signal,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      return {ok: false, status: 0, data: {error: t("page_offline"), code: "offline"}};
    } finally {
      clearTimeout(timer);
    }
    let payload = {};
    try { payload = await response.json(); } catch (err) { payload = {}; }
    return {ok: response.ok, status: response.status, data: payload};
  }

  /* live(rooms, handlers): handlers.snapshot(state) after each join, handlers[event](payload)
     for events, handlers.online(bool) on connection changes. */
  function live(rooms, handlers) {
    const socket = io({reconnectionDelay: 500, reconnectionDelayMax: 2000});
    const banner = document.getElementById("offline");
    const setOnline = (on) => {
      if (banner) banner.hidden = on;
      document.body.classList.toggle("is-offline", !on);
      if (handlers.online) handlers.online(on);
    };
    socket.on("connect", () => {
      setOnline(true);
      for (const room of rooms()) {
        // A device page with a key (the rating device) proves it when joining.
        const join = data.join_key ? {room, key: data.join_key} : {room};
        socket.emit("join", join, (ack) => {
          if (ack && ack.ok === false && handlers.refused) handlers.refused(room, ack);
        });
      }
    });
    socket.on("disconnect", () => setOnline(false));
    socket.on("connect_error", () => setOnline(false));
    for (const [name, fn] of Object.entries(handlers)) {
      if (!["online", "refused"].includes(name)) socket.on(name, fn);
    }
    return socket;
  }

  function minutes(seconds) {
    if (seconds === null || seconds === undefined) return t("wait_unknown");
    const m = Math.max(1, Math.round(seconds / 60));
    return t("wait_minutes", {n: m});
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c);
    return node;
  }

  window.QMS = {data, t, api, live, minutes, el};
})();
