// Switchboard public site: live status and chat on the customer session
// page. Without this script the page refreshes itself and forms post.
(function () {
  "use strict";
  // t translates an English sentence with the table the page carries
  // (data-i18n on <main>, filled by the server in the page's language).
  var strings = {};
  try { strings = JSON.parse(document.getElementById("main").getAttribute("data-i18n") || "{}"); } catch (e) { strings = {}; }
  function t(s) { return strings[s] || s; }
  window.switchboardT = t;
  var status = document.getElementById("status");
  if (!status) return;
  var form = document.getElementById("chat-form");
  var text = document.getElementById("text");
  var err = document.getElementById("text-err");
  var typing = document.getElementById("typing");
  var typingTimer = null, lastTyping = 0, rendered = status.getAttribute("data-status");

  function set(id, value) {
    var el = document.getElementById(id);
    if (el) el.textContent = value;
  }

  // renderNotices shows the site's important messages as they are now.
  function renderNotices(notices) {
    var box = document.getElementById("notices");
    if (!box) return;
    box.replaceChildren();
    (notices || []).forEach(function (n) {
      var s = document.createElement("section");
      s.className = "notice-msg sev-" + n.severity;
      s.setAttribute("role", n.severity === "outage" ? "alert" : "status");
      var h = document.createElement("h2");
      h.textContent = n.title;
      s.appendChild(h);
      if (n.text) {
        var p = document.createElement("p");
        p.textContent = n.text;
        s.appendChild(p);
      }
      box.appendChild(s);
    });
  }

  function render(st) {
    renderNotices(st.notices);
    set("headline", st.headline);
    set("detail", st.detail);
    set("status-badge", st.label);
    // A classic SOS code is shown until a technician claims it.
    var code = document.getElementById("code");
    if (code) code.hidden = !st.code;
    var list = document.getElementById("messages");
    if (list) {
      list.textContent = "";
      (st.messages || []).forEach(function (m) {
        var li = document.createElement("li");
        li.className = "msg " + (m.from === "customer" ? "customer" : "technician");
        var who = document.createElement("span");
        who.className = "who";
        who.textContent = m.from === "customer" ? t("You") : m.author;
        var txt = document.createElement("span");
        txt.className = "text";
        txt.textContent = m.text;
        // The name is a line of its own: no space before the text, which
        // keeps its own line breaks.
        li.appendChild(who);
        li.appendChild(txt);
        list.appendChild(li);
      });
      list.scrollTop = list.scrollHeight;
    }
    // A status change that alters the page's structure (agreement, end):
    // reload to get the server's rendering.
    if ((st.ended || st.needs_agreement !== !!document.getElementById("agreement")) && rendered !== st.status) {
      window.location.reload();
    }
    rendered = st.status;
    showShare(st.status === "active");
  }

  // ---- sharing the screen from the browser (view only) ----
  var shareBox = document.getElementById("share-box");
  var shareStart = document.getElementById("share-start");
  var shareStop = document.getElementById("share-stop");
  var shareErr = document.getElementById("share-err");
  var sharing = null; // {stream, conn}
  var canShare = !!(window.switchboardMedia && window.RTCPeerConnection && navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
  // What else the customer can do when the browser cannot share.
  var otherWay = document.getElementById("app") ? " " + t("You can also download the support app above.") : " " + t("You can also tell your technician in the chat.");

  function shareError(text) {
    if (!shareErr) return;
    shareErr.textContent = text || "";
    shareErr.hidden = !text;
  }

  function showShare(active) {
    if (!shareBox) return;
    shareBox.hidden = !active && !sharing;
    if (!active && sharing) stopShare("");
  }

  // stopShare ends the share and says why (note) or what went wrong (err).
  function stopShare(note, err) {
    if (!sharing) return;
    var s = sharing;
    sharing = null;
    s.stream.getTracks().forEach(function (t) { t.stop(); });
    if (s.conn) s.conn.close();
    shareStart.hidden = false;
    shareStop.hidden = true;
    set("share-status", note || "");
    shareError(err || "");
  }

  // shareFailure says in words what a failed share means and what to do.
  function shareFailure(e) {
    switch (e && e.name) {
      case "NotAllowedError":
        return t("Your screen is not shared: sharing was not allowed, or no screen was chosen. Press Share my screen from the browser and choose a screen, window or tab. If your computer asks, let the browser record the screen (on a Mac: System Settings, Privacy & Security, Screen Recording).");
      case "NotReadableError":
      case "AbortError":
        return t("Your screen is not shared: your computer did not let the browser capture it. Allow screen recording for this browser in your system settings, close other apps that record the screen, then try again.") + otherWay;
      case "NotSupportedError":
        return t("Your screen is not shared: this browser cannot share a screen.") + otherWay;
    }
    return t("Your screen is not shared.") + " " + ((e && e.message) || t("Something went wrong.")) + otherWay;
  }

  if (shareBox && !canShare) {
    shareStart.hidden = true;
    var unsupported = document.getElementById("share-unsupported");
    if (unsupported) unsupported.hidden = false;
  }
  if (shareBox && canShare) {
    // startSharing publishes stream; it handles its own failures.
    var startSharing = function (stream) {
      var s = { stream: stream, conn: null };
      sharing = s;
      // The browser's own "Stop sharing" button ends the track.
      stream.getVideoTracks()[0].addEventListener("ended", function () {
        if (sharing === s) stopShare(t("You stopped sharing your screen."));
      });
      set("share-status", t("Connecting to your technician…"));
      return window.switchboardMedia.publish("/session/share", stream, {}).then(function (conn) {
        if (sharing !== s) { conn.close(); return; }
        s.conn = conn;
        return window.switchboardMedia.connected(conn.pc, 20000, t("Your browser could not reach the support appliance for the screen share; a firewall may block it. Try again in a moment.")).then(function () {
          if (sharing !== s) return;
          shareStart.hidden = true;
          shareStop.hidden = false;
          set("share-status", t("Your technician can see your screen. Press Stop sharing at any time."));
          conn.pc.addEventListener("connectionstatechange", function () {
            var st = conn.pc.connectionState;
            if (sharing === s && (st === "failed" || st === "closed")) {
              stopShare("", t("Your screen is no longer shared: the connection to the support appliance was lost. Press Share my screen from the browser to share it again."));
            }
          });
        });
      }).catch(function (e) {
        if (sharing === s) stopShare("", shareFailure(e));
      });
    };
    shareStart.addEventListener("click", function () {
      shareStart.disabled = true;
      shareError("");
      set("share-status", t("Choose the screen, window or tab to share…"));
      navigator.mediaDevices.getDisplayMedia({ video: true, audio: false }).then(startSharing, function (e) {
        set("share-status", "");
        shareError(shareFailure(e));
      }).then(function () { shareStart.disabled = false; });
    });
    shareStop.addEventListener("click", function () { stopShare(t("You stopped sharing your screen.")); });
  }
  showShare(rendered === "active");

  // Answers to refresh can come back out of order (an event and a sent
  // message each ask); an older state must not replace a newer one.
  var asked = 0, shown = 0;
  function refresh() {
    var n = ++asked;
    fetch("/session/state", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (st) {
        if (st && n > shown) {
          shown = n;
          render(st);
        }
      })
      .catch(function () {});
  }

  if (window.EventSource) {
    var es = new EventSource("/session/events");
    es.addEventListener("state", function () {
      if (typing) typing.hidden = true;
      refresh();
    });
    es.addEventListener("typing", function () {
      if (!typing) return;
      typing.hidden = false;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { typing.hidden = true; }, 5000);
    });
  }

  if (form && text) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = new URLSearchParams(new FormData(form));
      fetch(form.action, {
        method: "POST", credentials: "same-origin", body: body,
        headers: { "X-CSRF-Token": window.switchboard.csrf() }
      }).then(function (r) {
        if (r.ok) {
          text.value = "";
          if (err) err.textContent = "";
          refresh();
        } else {
          // Keep the text; say what went wrong.
          return r.text().then(function () {
            if (err) err.textContent = r.status === 422 ? t("The message could not be sent: keep it under 2000 characters of plain text.") : t("The message could not be sent. Check your connection and press Send again.");
          });
        }
      }).catch(function () {
        if (err) err.textContent = t("The message could not be sent. Check your connection and press Send again.");
      });
    });
    text.addEventListener("input", function () {
      var now = Date.now();
      if (now - lastTyping < 3000) return;
      lastTyping = now;
      fetch("/session/typing", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": window.switchboard.csrf() } }).catch(function () {});
    });
  }
})();

// The "join a presentation" page: an attendee types the presentation key
// (or opened the presenter's link, whose token the page carries) and
// watches.
(function () {
  "use strict";
  var t = window.switchboardT;
  var box = document.getElementById("present-join");
  if (!box) return;
  var form = document.getElementById("present-form");
  var keyEl = document.getElementById("present-key");
  var errEl = document.getElementById("present-err");
  var statusEl = document.getElementById("present-status");
  var video = document.getElementById("present-video");
  var token = box.getAttribute("data-token");
  var conn = null;
  var lostTimer = 0;

  if (!window.switchboardMedia || !window.RTCPeerConnection) {
    statusEl.textContent = t("This browser cannot show the presentation. Open the page in a current Chrome, Edge, Firefox or Safari.");
    form.hidden = true;
    return;
  }

  function showError(text, badKey) {
    errEl.textContent = text;
    errEl.hidden = !text;
    keyEl.setAttribute("aria-invalid", badKey ? "true" : "false");
  }

  // ended closes the connection and says so; with a key the form comes
  // back (still holding the key) to join again.
  function setHeading(text) {
    var h = document.getElementById("pj-h");
    if (h) h.textContent = text;
  }

  function ended(text) {
    clearTimeout(lostTimer);
    setHeading(token ? t("The presentation has ended") : t("Enter the presentation key"));
    if (!conn) return;
    var c = conn;
    conn = null;
    c.close();
    video.hidden = true;
    statusEl.textContent = text;
    if (!token) form.hidden = false;
  }

  function watch(c) {
    conn = c;
    var pc = c.pc;
    pc.addEventListener("connectionstatechange", function () {
      if (conn !== c) return;
      var st = pc.connectionState;
      clearTimeout(lostTimer);
      if (st === "connected") {
        statusEl.textContent = t("You are watching the presentation.");
        setHeading(t("The presentation"));
      } else if (st === "failed" || st === "closed") {
        ended(t("The presentation has ended, or the connection to it was lost.") + " " + (token ? t("Reload the page to join again.") : t("Press Join to try again.")));
      } else if (st === "disconnected") {
        statusEl.textContent = t("The connection is interrupted; waiting for it to come back…");
        // A stopped presentation shows as a connection that went quiet
        // (browsers report "disconnected" after some seconds of silence,
        // "failed" only much later), so a short grace decides.
        lostTimer = setTimeout(function () {
          if (conn === c) ended(t("The presentation has ended, or the connection to it was lost.") + " " + (token ? t("Reload the page to join again.") : t("Press Join to try again.")));
        }, 2000);
      }
    });
  }

  function join(extra) {
    statusEl.textContent = t("Connecting to the presentation…");
    setHeading(t("Connecting to the presentation"));
    showError("", false);
    form.hidden = true;
    window.switchboardMedia.subscribe("/present/join", video, extra).then(function (c) {
      video.hidden = false;
      watch(c);
    }).catch(function (e) {
      statusEl.textContent = "";
      if (token) {
        statusEl.textContent = e.message;
        return;
      }
      form.hidden = false;
      showError(e.message, true);
      keyEl.focus();
    });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (conn) return;
    join({ key: keyEl.value });
  });
  // An error is about what was typed: editing it clears the error.
  keyEl.addEventListener("input", function () { showError("", false); });
  if (token) join({ token: token });
})();
