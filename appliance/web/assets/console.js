// Switchboard technician console: live queues, notifications and chat.
// The pages work without this script; it keeps them live over
// /console/events (server-sent events). Everything people typed is put on
// the page with textContent, never as HTML.
(function () {
  "use strict";

  var live = document.getElementById("live");
  if (!live) {
    // A console page without live parts (history): local times only.
    localTimes();
    return;
  }
  var queuesEl = document.getElementById("queues");
  var sessionEl = document.getElementById("session");
  var toasts = document.getElementById("toasts");
  var notifyBtn = document.getElementById("notify");
  var sessionID = sessionEl ? Number(sessionEl.getAttribute("data-id")) : 0;

  var SESSION_KINDS = ["session.waiting", "session.ready", "session.active", "session.closed", "session.expired",
    "session.transferred", "session.invited", "session.left", "session.agreed", "session.device", "session.control"];

  var state = null; // {me, queues, rows: Map id → row}
  var offset = 0; // server clock minus ours, in ms
  var source = null;
  var retryTimer = 0;
  var retries = 0;
  var signedOut = false;

  // ---- small helpers ----

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function csrf() {
    return window.switchboard ? window.switchboard.csrf() : "";
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf(), "Accept": "application/json" },
      body: body || new URLSearchParams()
    });
  }

  function ageText(ms) {
    var m = Math.floor(ms / 60000);
    if (m < 1) return "just now";
    if (m < 60) return m + " min";
    var h = Math.floor(m / 60);
    if (h < 48) return h + " h " + (m % 60) + " min";
    return Math.floor(h / 24) + " days";
  }

  function tickAges() {
    var now = Date.now() + offset;
    var ages = document.querySelectorAll("[data-since]");
    for (var i = 0; i < ages.length; i++) {
      var t = Date.parse(ages[i].getAttribute("data-since"));
      if (!isNaN(t)) ages[i].textContent = ageText(now - t);
    }
  }

  function localTimes() {
    localTime(document);
  }

  function localTime(root) {
    var times = (root || document).querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i++) {
      var d = new Date(times[i].getAttribute("datetime"));
      if (!isNaN(d.getTime())) {
        times[i].title = d.toLocaleString();
        times[i].textContent = d.toLocaleString([], { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
      }
    }
  }

  function timeEl(iso) {
    var t = el("time");
    t.setAttribute("datetime", iso);
    var d = new Date(iso);
    t.textContent = isNaN(d.getTime()) ? iso : d.toLocaleString([], { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
    return t;
  }

  function banner(text, bad) {
    if (!text) {
      live.hidden = true;
      return;
    }
    live.hidden = false;
    live.className = "live-banner" + (bad ? " bad" : "");
    live.replaceChildren(document.createTextNode(text));
  }

  // ---- notifications ----

  var audio = null;
  function unlockAudio() {
    var AC = window.AudioContext || window.webkitAudioContext;
    if (!audio && AC) {
      try { audio = new AC(); } catch (e) { audio = null; }
    }
  }
  document.addEventListener("pointerdown", unlockAudio, { once: true });
  document.addEventListener("keydown", unlockAudio, { once: true });

  function beep() {
    if (!audio) return;
    try {
      if (audio.state === "suspended") audio.resume();
      var t = audio.currentTime;
      [880, 660].forEach(function (f, i) {
        var o = audio.createOscillator();
        var g = audio.createGain();
        o.frequency.value = f;
        g.gain.setValueAtTime(0.0001, t + i * 0.18);
        g.gain.exponentialRampToValueAtTime(0.2, t + i * 0.18 + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.18 + 0.16);
        o.connect(g);
        g.connect(audio.destination);
        o.start(t + i * 0.18);
        o.stop(t + i * 0.18 + 0.17);
      });
    } catch (e) { /* no sound is fine */ }
  }

  function notificationsOn() {
    return "Notification" in window && Notification.permission === "granted" &&
      localStorage.getItem("switchboard.notify") === "1";
  }

  function showNotifyButton() {
    if (!notifyBtn || !("Notification" in window)) return;
    notifyBtn.hidden = false;
    notifyBtn.textContent = notificationsOn() ? "Turn off notifications" : "Turn on notifications";
    if (Notification.permission === "denied") {
      notifyBtn.textContent = "Notifications are blocked in this browser";
      notifyBtn.disabled = true;
    }
  }

  if (notifyBtn) {
    notifyBtn.addEventListener("click", function () {
      unlockAudio();
      if (notificationsOn()) {
        localStorage.setItem("switchboard.notify", "0");
        showNotifyButton();
        return;
      }
      Notification.requestPermission().then(function (p) {
        localStorage.setItem("switchboard.notify", p === "granted" ? "1" : "0");
        showNotifyButton();
      });
    });
    showNotifyButton();
  }

  function toast(text, href) {
    if (!toasts) return;
    var t = el("div", "toast");
    if (href) {
      var a = el("a", "", text);
      a.href = href;
      t.appendChild(a);
    } else {
      t.textContent = text;
    }
    toasts.appendChild(t);
    setTimeout(function () { t.remove(); }, 10000);
  }

  function announce(row) {
    var who = row.customer && row.customer.name ? row.customer.name : "A customer";
    if (row.customer && row.customer.company) who += " (" + row.customer.company + ")";
    var text = "New customer in " + row.queue_name + ": " + who;
    toast(text, "/console/sessions/" + row.id);
    beep();
    if (notificationsOn()) {
      try {
        var n = new Notification("New customer waiting", { body: text, tag: "switchboard-session-" + row.id });
        n.onclick = function () { window.focus(); location.href = "/console/sessions/" + row.id; };
      } catch (e) { /* some browsers only notify from a service worker */ }
    }
  }

  function watched(row) {
    if (!state) return false;
    for (var i = 0; i < state.queues.length; i++) {
      if (state.queues[i].key === row.queue_key) return true;
    }
    return false;
  }

  // isNew reports whether row is a customer who just started waiting in
  // one of the technician's queues.
  function isNew(row, old) {
    return row.status === "ready" && !row.mine && watched(row) &&
      (!old || old.status !== "ready" || old.queue_key !== row.queue_key);
  }

  // ---- the queues ----

  function rowEl(r) {
    var li = el("li", "session st-" + r.status);
    li.setAttribute("data-id", r.id);
    var head = el("div", "session-head");
    head.appendChild(el("span", "badge status", r.status_label));
    var age = el("span", "age");
    age.setAttribute("data-since", r.since);
    head.appendChild(age);
    head.appendChild(el("span", "method muted", r.method));
    head.appendChild(el("span", "queue-of muted", "in " + r.queue_name));
    if (r.owner_name) head.appendChild(el("span", "owner muted", "with " + r.owner_name));
    li.appendChild(head);
    var c = r.customer || {};
    var p = el("p", "customer");
    p.appendChild(el("strong", "c-name", c.name || "Customer without a name"));
    if (c.verified) p.appendChild(verifiedEl(c.verified.summary));
    if (c.company) {
      p.appendChild(document.createTextNode(" · "));
      p.appendChild(el("span", "c-company", c.company));
    }
    li.appendChild(p);
    if (c.description) li.appendChild(el("p", "c-desc", c.description));
    var answers = (c.custom || []).filter(function (a) { return a.value; });
    if (answers.length) {
      var dl = el("dl", "answers");
      answers.forEach(function (a) {
        dl.appendChild(el("dt", "", a.label));
        dl.appendChild(el("dd", "", a.value));
      });
      li.appendChild(dl);
    }
    var actions = el("div", "actions");
    if (r.awaiting_agreement) {
      var wait = el("p", "notice agree-wait", "The customer has not accepted the site's agreement yet. Accept is possible once they do; this card updates by itself.");
      wait.id = "agree-wait-" + r.id;
      actions.appendChild(wait);
    }
    if (r.can_accept) {
      var b = el("button", "small accept", "Accept");
      b.type = "submit";
      b.setAttribute("form", "accept-form");
      b.setAttribute("formaction", "/console/sessions/" + r.id + "/accept");
      if (r.awaiting_agreement) {
        b.disabled = true;
        b.setAttribute("aria-describedby", "agree-wait-" + r.id);
      }
      actions.appendChild(b);
    }
    var open = el("a", "button secondary small", "Open");
    open.href = "/console/sessions/" + r.id;
    actions.appendChild(open);
    li.appendChild(actions);
    return li;
  }

  function sectionEl(key, name, rows, countText, totalText, emptyText) {
    var s = el("section", "card queue");
    s.setAttribute("data-queue", key);
    var h = el("h2");
    h.appendChild(el("span", "queue-name", name));
    h.appendChild(document.createTextNode(" "));
    h.appendChild(el("span", "badge count", countText));
    if (totalText) {
      h.appendChild(document.createTextNode(" "));
      h.appendChild(el("span", "muted total", totalText));
    }
    s.appendChild(h);
    var ul = el("ul", "sessions");
    rows.forEach(function (r) { ul.appendChild(rowEl(r)); });
    s.appendChild(ul);
    var empty = el("p", "muted empty", emptyText);
    empty.hidden = rows.length > 0;
    s.appendChild(empty);
    return s;
  }

  function sorted(rows) {
    return rows.sort(function (a, b) {
      return Date.parse(a.since) - Date.parse(b.since) || a.id - b.id;
    });
  }

  function render() {
    if (!queuesEl || !state) return;
    var all = Array.from(state.rows.values());
    var parts = [];
    var working = sorted(all.filter(function (r) { return r.mine; }));
    parts.push(sectionEl("working", "Working on", working, String(working.length), "", "You are not working on a session."));
    var waitingTotal = 0;
    state.queues.forEach(function (q) {
      var rows = sorted(all.filter(function (r) { return r.queue_key === q.key; }));
      var waiting = rows.filter(function (r) { return r.status === "ready"; }).length;
      waitingTotal += waiting;
      parts.push(sectionEl(q.key, q.name, rows, waiting + " waiting", rows.length + " open", "Nobody is waiting here."));
    });
    queuesEl.replaceChildren.apply(queuesEl, parts);
    document.title = (waitingTotal ? "(" + waitingTotal + ") " : "") + document.title.replace(/^\(\d+\) /, "");
    tickAges();
  }

  function onState(ev) {
    var st = JSON.parse(ev.data);
    offset = Date.parse(st.now) - Date.now();
    var before = state ? state.rows : null;
    state = { me: st.me, queues: st.queues || [], rows: new Map() };
    (st.sessions || []).forEach(function (r) { state.rows.set(r.id, r); });
    if (before) {
      // Back after a drop: announce who arrived meanwhile.
      state.rows.forEach(function (r, id) { if (isNew(r, before.get(id))) announce(r); });
    }
    retries = 0;
    banner("");
    render();
    if (sessionID) refreshSession();
  }

  function onSessionEvent(ev) {
    var e = JSON.parse(ev.data);
    if (!state) return;
    var old = state.rows.get(e.session);
    if (e.gone || !e.row) {
      state.rows.delete(e.session);
    } else {
      state.rows.set(e.session, e.row);
      if (isNew(e.row, old)) announce(e.row);
    }
    render();
    if (sessionID && e.session === sessionID) refreshSession();
  }

  // ---- the session page ----

  var messagesEl = document.getElementById("messages");
  var typingEl = document.getElementById("typing");
  if (messagesEl) messagesEl.querySelectorAll(".msg").forEach(markVerified);
  var chatForm = document.getElementById("chat-form");
  var textEl = document.getElementById("text");
  var textErr = document.getElementById("text-err");
  var typingTimer = 0;
  var lastTypingSent = 0;
  var lastSeq = 0;
  var shownActions = null;

  // verifiedEl is the green check of a customer the site's portal login
  // (SAML) verified; its tooltip says as whom and via which provider.
  function verifiedEl(summary) {
    var s = el("span", "verified", "✓");
    s.title = summary;
    s.setAttribute("aria-label", summary);
    s.setAttribute("role", "img");
    return s;
  }

  function markVerified(li) {
    var list = document.getElementById("messages");
    var summary = list && list.getAttribute("data-verified");
    if (!summary || !li.classList.contains("from-customer")) return;
    var author = li.querySelector(".msg-author");
    if (author && !li.querySelector(".verified")) author.after(verifiedEl(summary));
  }

  function messageEl(m) {
    var li = el("li", "msg from-" + (m.from === "customer" ? "customer" : "technician"));
    li.setAttribute("data-seq", m.seq);
    var meta = el("span", "msg-meta");
    meta.appendChild(el("strong", "msg-author", m.author || (m.from === "customer" ? "Customer" : "Technician")));
    meta.appendChild(document.createTextNode(" "));
    meta.appendChild(timeEl(m.at));
    li.appendChild(meta);
    li.appendChild(el("p", "msg-text", m.text));
    markVerified(li);
    return li;
  }

  function addMessage(m) {
    if (!messagesEl || m.seq <= lastSeq && messagesEl.querySelector('[data-seq="' + Number(m.seq) + '"]')) return;
    messagesEl.appendChild(messageEl(m));
    lastSeq = Math.max(lastSeq, m.seq);
    messagesEl.scrollTop = messagesEl.scrollHeight;
    if (m.from === "customer" && typingEl) typingEl.hidden = true;
  }

  function setActions(a) {
    var sections = document.querySelectorAll("[data-action]");
    for (var i = 0; i < sections.length; i++) {
      sections[i].hidden = !a[sections[i].getAttribute("data-action")];
    }
    var hint = document.querySelector('[data-hint="chat"]');
    if (hint) hint.hidden = !!a.chat;
  }

  function ended(text) {
    var note = document.getElementById("s-ended");
    if (note) {
      note.hidden = false;
      if (text) note.firstChild.textContent = text + " ";
    }
    setActions({});
    if (typingEl) typingEl.hidden = true;
    var hint = document.querySelector('[data-hint="chat"]');
    if (hint) hint.hidden = true;
  }

  function refreshSession() {
    fetch("/console/sessions/" + sessionID + "/state?after=" + lastSeq, {
      credentials: "same-origin", headers: { "Accept": "application/json" }
    }).then(function (resp) {
      if (resp.status === 403 || resp.status === 404) {
        ended("This session is no longer in a queue you work on.");
        return null;
      }
      return resp.ok ? resp.json() : null;
    }).then(function (sv) {
      if (!sv) return;
      (sv.messages || []).forEach(addMessage);
      if (!sv.row) {
        ended("");
        return;
      }
      var r = sv.row;
      var badge = document.getElementById("s-status");
      if (badge) {
        badge.textContent = r.status_label;
        badge.className = "badge status st-" + r.status;
      }
      var acc = document.getElementById("accept"), accWait = document.getElementById("accept-wait");
      if (acc) acc.disabled = !!r.awaiting_agreement;
      if (accWait) accWait.hidden = !r.awaiting_agreement;
      var owner = document.getElementById("s-owner");
      if (owner) owner.textContent = r.owner_name ? "· Owner: " + r.owner_name : "";
      var collab = document.getElementById("s-collab");
      if (collab) collab.textContent = sv.collaborators && sv.collaborators.length ? "· With: " + sv.collaborators.join(", ") : "";
      var trail = document.getElementById("trail");
      if (trail) {
        trail.replaceChildren.apply(trail, (sv.trail || []).map(function (t) {
          var li = el("li");
          li.appendChild(timeEl(t.at));
          li.appendChild(document.createTextNode(" "));
          li.appendChild(el("span", "trail-text", t.text));
          return li;
        }));
      }
      if (sv.remote) renderRemote(sv.remote);
      if (!sv.open) {
        ended("");
        return;
      }
      var a = sv.actions || {};
      var gained = shownActions && ((a.transfer && !shownActions.transfer) || (a.invite && !shownActions.invite));
      if (gained && (!textEl || !textEl.value)) {
        // New forms need choices only the server has: load the page again.
        location.reload();
        return;
      }
      shownActions = a;
      setActions(a);
    }).catch(function () { /* the event stream retries */ });
  }

  // renderRemote shows what the customer's support app reported, tells
  // remote.js who has control, and offers the browser screen share.
  function renderRemote(rv) {
    var box = document.getElementById("device");
    if (box) {
      var d = rv.device;
      if (!d) {
        box.replaceChildren(el("p", "muted", "The customer has not started the support app yet. They download it from their session page; it starts without questions."));
      } else {
        var dl = el("dl", "facts");
        dl.id = "device-facts";
        var add = function (k, v) {
          if (!v) return;
          dl.appendChild(el("dt", "", k));
          dl.appendChild(el("dd", "", v));
        };
        var st = el("dd");
        st.id = "device-state";
        st.appendChild(el("span", "badge status " + (d.connected ? "st-active" : "st-closed"), d.connected ? "Connected" : "Disconnected"));
        dl.appendChild(el("dt", "", "Support app"));
        dl.appendChild(st);
        add("Computer", d.hostname);
        add("System", d.os + (d.version ? " (" + d.version + ")" : ""));
        add("User", d.user);
        add("Addresses", (d.addresses || []).join(", "));
        add("Screens", (d.screens || []).join(", "));
        // As the template _parts.html says it.
        var transport = { tcp: "TCP (TLS on the HTTPS port): the customer's network blocks UDP, so the screen may be slower", quic: "QUIC (UDP)" }[d.transport];
        if (transport) {
          dl.appendChild(el("dt", "", "Connection"));
          var td = el("dd", "", transport);
          td.id = "device-transport";
          dl.appendChild(td);
        }
        var parts = [dl];
        if (!d.capture) {
          var note = el("p", "notice", d.note || "Screen sharing is not supported on this OS.");
          note.id = "device-note";
          parts.push(note);
        }
        box.replaceChildren.apply(box, parts);
      }
    }
    document.dispatchEvent(new CustomEvent("switchboard:controller", { detail: { controller: rv.controller || 0, device: rv.device || null, stats: rv.stats || null } }));
    var share = document.getElementById("share");
    if (share) share.hidden = !rv.sharing;
    if (!rv.sharing && shareWatch) stopWatching("The customer stopped sharing their screen.");
  }

  // ---- presenting the technician's screen ----

  // captureError says what a failed getDisplayMedia means.
  function captureError(err) {
    switch (err && err.name) {
      case "NotAllowedError":
        return "Screen capture was not allowed, or no screen was chosen. Start again and choose a screen, window or tab; if your system asks, let the browser record the screen.";
      case "NotReadableError":
      case "AbortError":
        return "Your system did not let the browser capture the screen. Allow screen recording for the browser in the system settings, then start again.";
      case "NotSupportedError":
        return "This browser cannot capture the screen.";
    }
    return (err && err.message) || "Something went wrong.";
  }

  // media.js is loaded after this script: window.switchboardMedia is
  // looked up when it is needed, not now.
  var canMedia = !!(window.RTCPeerConnection && window.fetch);
  var presentEl = document.getElementById("present");
  if (presentEl && canMedia && navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia) {
    presentEl.hidden = false;
    var pStart = document.getElementById("present-start");
    var pLive = document.getElementById("present-live");
    var pStatus = document.getElementById("present-status");
    var pErr = document.getElementById("present-err");
    var presenting = null; // {id, conn, stream}
    var presentError = function (text) {
      pErr.textContent = text || "";
      pErr.hidden = !text;
    };
    // stopPresenting ends the presentation for everyone; err says why when
    // it was not the technician's choice.
    var stopPresenting = function (err) {
      if (!presenting) return;
      var p = presenting;
      presenting = null;
      p.stream.getTracks().forEach(function (t) { t.stop(); });
      if (p.conn) p.conn.close();
      post("/console/present/" + encodeURIComponent(p.id) + "/stop", "").catch(function () {});
      pLive.hidden = true;
      pStart.hidden = false;
      presentError(typeof err === "string" ? err : "");
    };
    pStart.addEventListener("click", function () {
      pStart.disabled = true;
      presentError("");
      navigator.mediaDevices.getDisplayMedia({ video: true, audio: false }).catch(function (err) {
        throw new Error(captureError(err));
      }).then(function (stream) {
        return fetch("/console/present", {
          method: "POST", credentials: "same-origin",
          headers: { "X-CSRF-Token": csrf(), "Accept": "application/json" }
        }).then(function (resp) {
          return resp.json().catch(function () { return {}; }).then(function (body) {
            if (!resp.ok) throw new Error(body.error || "The appliance refused (HTTP " + resp.status + ").");
            return body;
          });
        }).then(function (p) {
          var me = { id: p.id, stream: stream, conn: null };
          presenting = me;
          document.getElementById("present-key").textContent = p.key;
          document.getElementById("present-link").value = p.link;
          pStatus.textContent = "Connecting…";
          pLive.hidden = false;
          pStart.hidden = true;
          // The browser's own "Stop sharing" button ends the track.
          stream.getVideoTracks()[0].addEventListener("ended", function () {
            if (presenting === me) stopPresenting();
          });
          return window.switchboardMedia.publish("/console/present/" + encodeURIComponent(p.id) + "/publish", stream, {}).then(function (conn) {
            if (presenting !== me) { conn.close(); return; }
            me.conn = conn;
            return window.switchboardMedia.connected(conn.pc, 20000, "Your browser could not reach the appliance's WebRTC port; a firewall may block it.").then(function () {
              if (presenting !== me) return;
              pStatus.textContent = "You are presenting. Attendees see your screen.";
              conn.pc.addEventListener("connectionstatechange", function () {
                var st = conn.pc.connectionState;
                if (presenting === me && (st === "failed" || st === "closed")) {
                  stopPresenting("The presentation ended: the connection to the appliance was lost. Start a new one; attendees need the new key.");
                }
              });
            });
          });
        }).catch(function (err) {
          stream.getTracks().forEach(function (t) { t.stop(); });
          throw err;
        });
      }).catch(function (err) {
        stopPresenting();
        presentError("The presentation could not start: " + err.message);
      }).then(function () { pStart.disabled = false; });
    });
    document.getElementById("present-stop").addEventListener("click", function () { stopPresenting(); });
  }

  // ---- watching the customer's browser screen share ----
  var shareBtn = document.getElementById("share-watch");
  var shareWatch = null; // the subscription while watching
  function stopWatching(note) {
    var video = document.getElementById("share-video");
    if (shareWatch) {
      shareWatch.close();
      shareWatch = null;
      if (note) toast(note);
    }
    if (video) video.hidden = true;
    if (shareBtn) shareBtn.textContent = "Watch the shared screen";
  }
  if (shareBtn && canMedia) {
    shareBtn.addEventListener("click", function () {
      var video = document.getElementById("share-video");
      if (shareWatch) {
        stopWatching("");
        return;
      }
      shareBtn.disabled = true;
      Promise.resolve().then(function () {
        return window.switchboardMedia.subscribe(document.getElementById("share").getAttribute("data-url"), video, {});
      }).then(function (w) {
        shareWatch = w;
        video.hidden = false;
        shareBtn.textContent = "Stop watching";
        w.pc.addEventListener("connectionstatechange", function () {
          var st = w.pc.connectionState;
          if (shareWatch === w && (st === "failed" || st === "closed")) {
            stopWatching("The connection to the customer's shared screen was lost. Press Watch to try again.");
          }
        });
      }).catch(function (err) {
        toast("The shared screen could not be shown: " + err.message);
      }).then(function () { shareBtn.disabled = false; });
    });
  }

  function showChatError(text) {
    if (!textErr) return;
    textErr.textContent = text || "";
    textErr.hidden = !text;
    if (textEl) textEl.setAttribute("aria-invalid", text ? "true" : "false");
  }

  if (sessionEl) {
    var msgs = document.querySelectorAll("#messages [data-seq]");
    for (var i = 0; i < msgs.length; i++) lastSeq = Math.max(lastSeq, Number(msgs[i].getAttribute("data-seq")));
    if (messagesEl) messagesEl.scrollTop = messagesEl.scrollHeight;
    var first = {};
    var secs = document.querySelectorAll("[data-action]");
    for (var j = 0; j < secs.length; j++) first[secs[j].getAttribute("data-action")] = !secs[j].hidden;
    shownActions = first;
  }

  if (chatForm && textEl) {
    chatForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var text = textEl.value;
      if (!text.trim()) {
        showChatError("Type a message first.");
        return;
      }
      var body = new URLSearchParams(new FormData(chatForm));
      post(chatForm.action, body).then(function (resp) {
        return resp.json().catch(function () { return { error: "The appliance did not answer. Try again." }; })
          .then(function (data) { return { ok: resp.ok, data: data }; });
      }).then(function (res) {
        if (!res.ok) {
          var d = res.data || {};
          showChatError((d.fields && d.fields.text) || d.error || "The message was not sent. Try again.");
          return;
        }
        showChatError("");
        if (textEl.value === text) textEl.value = "";
        addMessage(res.data);
        textEl.focus();
      }).catch(function () {
        showChatError("The message was not sent: the appliance cannot be reached. It is still in the box; send it again.");
      });
    });
    textEl.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        chatForm.requestSubmit();
      }
    });
    textEl.addEventListener("input", function () {
      var now = Date.now();
      if (textEl.value && now - lastTypingSent > 3000) {
        lastTypingSent = now;
        post("/console/sessions/" + sessionID + "/typing").catch(function () {});
      }
    });
  }

  function onChatMessage(ev) {
    var e = JSON.parse(ev.data);
    if (sessionID && e.session === sessionID && e.data) addMessage(e.data);
  }

  function onTyping(ev) {
    var e = JSON.parse(ev.data);
    if (!sessionID || e.session !== sessionID || !e.data || e.data.from !== "customer" || !typingEl) return;
    typingEl.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { typingEl.hidden = true; }, 5000);
  }

  // ---- the connection ----

  function disconnect() {
    if (source) {
      source.close();
      source = null;
    }
    clearTimeout(retryTimer);
  }

  function scheduleReconnect() {
    disconnect();
    if (signedOut) return;
    retries++;
    var wait = Math.min(10000, 1000 * Math.pow(2, Math.min(retries, 4)));
    retryTimer = setTimeout(function () {
      // A stream that was refused may mean the sign-in ended.
      fetch("/console/state", { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (resp) {
          if (resp.redirected && resp.url.indexOf("/login") >= 0) {
            onSignedOut();
            return;
          }
          connect();
        })
        .catch(scheduleReconnect);
    }, wait);
  }

  function onSignedOut() {
    signedOut = true;
    disconnect();
    live.hidden = false;
    live.className = "live-banner bad";
    var a = el("a", "", "Sign in again");
    a.href = "/login?next=" + encodeURIComponent(location.pathname);
    live.replaceChildren(document.createTextNode("Your sign-in has ended, so the console stopped updating. "), a);
  }

  function connect() {
    disconnect();
    if (!navigator.onLine) {
      banner("You are offline. The console reconnects as soon as the network is back.");
      return;
    }
    source = new EventSource("/console/events");
    source.addEventListener("state", onState);
    SESSION_KINDS.forEach(function (k) { source.addEventListener(k, onSessionEvent); });
    source.addEventListener("chat.message", onChatMessage);
    source.addEventListener("chat.typing", onTyping);
    source.addEventListener("signedout", onSignedOut);
    source.onerror = function () {
      banner("Reconnecting to the appliance… What you see may be out of date.");
      if (source && source.readyState === EventSource.CLOSED) scheduleReconnect();
    };
  }

  window.addEventListener("offline", function () {
    disconnect();
    banner("You are offline. The console reconnects as soon as the network is back.");
  });
  window.addEventListener("online", function () {
    if (!signedOut) {
      banner("Reconnecting to the appliance…");
      connect();
    }
  });

  // Tests and the curious can see whether the console is live.
  window.switchboardConsole = {
    connected: function () { return !!source && source.readyState === EventSource.OPEN && live.hidden; },
    reconnect: connect
  };

  localTime(document);
  setInterval(tickAges, 10000);
  tickAges();
  connect();
})();
