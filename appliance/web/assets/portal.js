// Switchboard public site: live status and chat on the customer session
// page. Without this script the page refreshes itself and forms post.
(function () {
  "use strict";
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

  function render(st) {
    set("headline", st.headline);
    set("detail", st.detail);
    set("status-badge", st.status);
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
        who.textContent = m.from === "customer" ? "You" : m.author;
        var t = document.createElement("span");
        t.className = "text";
        t.textContent = m.text;
        li.appendChild(who);
        li.appendChild(document.createTextNode(" "));
        li.appendChild(t);
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
  }

  function refresh() {
    fetch("/session/state", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (st) { if (st) render(st); })
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
            if (err) err.textContent = r.status === 422 ? "The message could not be sent: keep it under 2000 characters of plain text." : "The message could not be sent. Check your connection and press Send again.";
          });
        }
      }).catch(function () {
        if (err) err.textContent = "The message could not be sent. Check your connection and press Send again.";
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
