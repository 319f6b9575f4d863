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
  // The CSRF token for scripts that post with fetch().
  window.switchboard = {
    csrf: function () {
      var m = document.querySelector('meta[name="csrf-token"]');
      return m ? m.content : "";
    }
  };
})();
