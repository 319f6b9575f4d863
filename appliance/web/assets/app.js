// Switchboard: progressive enhancement shared by every surface.
// Pages work without this script; it only adds confirmations and helpers.
(function () {
  "use strict";
  // Ask before destructive actions: <form data-confirm="Delete this user?">.
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    var msg = f.getAttribute && f.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) {
      ev.preventDefault();
    }
  });
  // Copy buttons: <button data-copy="#id">.
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest("[data-copy]");
    if (!b) return;
    var el = document.querySelector(b.getAttribute("data-copy"));
    if (el && navigator.clipboard) {
      navigator.clipboard.writeText(el.textContent.trim()).then(function () {
        b.textContent = "Copied";
      });
    }
  });
  // Choices that apply at once: <select data-autosubmit> sends its form
  // on change, so its button is only needed without this script.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
    var btn = sel.form && sel.form.querySelector("button[type=submit]");
    if (btn) btn.hidden = true;
    sel.addEventListener("change", function () { sel.form.requestSubmit(); });
  });
  // Countdowns: <span data-countdown="SECONDS"> counts down to 0 s.
  document.querySelectorAll("[data-countdown]").forEach(function (el) {
    var end = Date.now() + 1000 * parseInt(el.getAttribute("data-countdown"), 10);
    var tick = function () {
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      el.textContent = left + " s";
      if (left > 0) setTimeout(tick, 1000);
    };
    tick();
  });
  // Work the box does in the background: <section data-poll="URL"
  // data-poll-while="KEY"> asks URL every two seconds and reloads the
  // page once the JSON answer's KEY is no longer true.
  document.querySelectorAll("[data-poll]").forEach(function (el) {
    var url = el.getAttribute("data-poll"), key = el.getAttribute("data-poll-while");
    var poll = function () {
      fetch(url, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (st) { if (!st[key]) { location.reload(); return; } setTimeout(poll, 2000); })
        .catch(function () { setTimeout(poll, 5000); });
    };
    setTimeout(poll, 2000);
  });

  // A network trial: <section data-trial-poll="URL" data-trial-last="SEQ">
  // asks URL every second; the page reloads once the trial is confirmed
  // or undone, and says so while this address does not answer.
  document.querySelectorAll("[data-trial-poll]").forEach(function (el) {
    var url = el.getAttribute("data-trial-poll");
    if (!url) return;
    var gone = el.querySelector("#trial-gone");
    var poll = function () {
      var ctl = new AbortController();
      var timer = setTimeout(function () { ctl.abort(); }, 3000);
      fetch(url, { credentials: "same-origin", cache: "no-store", signal: ctl.signal })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (st) {
          clearTimeout(timer);
          if (gone) gone.hidden = true;
          if (!st.trial) { location.reload(); return; }
          setTimeout(poll, 1000);
        })
        .catch(function () {
          clearTimeout(timer);
          if (gone) gone.hidden = false;
          setTimeout(poll, 1000);
        });
    };
    // A staged change is applied once this page is here.
    var apply = el.getAttribute("data-trial-apply");
    if (apply) {
      var form = el.querySelector("form.no-js-only");
      if (form) form.hidden = true;
      fetch(apply, { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content } })
        .catch(function () {})
        .then(function () { setTimeout(poll, 1000); });
      return;
    }
    setTimeout(poll, 1000);
  });
  // The CSRF token for scripts that post with fetch().
  window.switchboard = {
    csrf: function () {
      var m = document.querySelector('meta[name="csrf-token"]');
      return m ? m.content : "";
    }
  };
})();
