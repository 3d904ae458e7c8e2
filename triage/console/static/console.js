// Staff console: SLA countdowns, inbox refresh, and sign-out after idle time.
// No framework and nothing from a CDN: hospital networks may block them.
"use strict";

(function () {
  var body = document.body;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function tickCountdowns() {
    var now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (cell) {
      var left = Math.round((Date.parse(cell.dataset.due) - now) / 1000);
      if (left >= 0) {
        var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
        cell.textContent = (h ? h + ":" + pad(m) : m) + ":" + pad(s) + " left";
        cell.classList.remove("overdue");
      } else {
        cell.textContent = "OVERDUE " + Math.ceil(-left / 60) + " min";
        cell.classList.add("overdue");
      }
    });
  }

  function markUrgent() {
    var urgent = document.querySelectorAll("tr.case.urgent.unclaimed").length;
    var base = document.title.replace(/^\(\d+ URGENT\) /, "");
    document.title = urgent ? "(" + urgent + " URGENT) " + base : base;
  }

  function signOut(reason) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = "/logout";
    [["csrf", csrf], ["reason", reason]].forEach(function (pair) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = pair[0];
      input.value = pair[1];
      form.appendChild(input);
    });
    body.appendChild(form);
    form.submit();
  }

  // The inbox refreshes itself; these requests do not count as activity on the server.
  var rows = document.getElementById("case-rows");
  if (rows && rows.dataset.poll) {
    setInterval(function () {
      fetch(rows.dataset.poll, { headers: { "X-Console-Poll": "1" }, credentials: "same-origin" })
        .then(function (r) {
          if (r.redirected || r.status === 401) { window.location = "/login?expired=1"; return null; }
          return r.ok ? r.text() : null;
        })
        .then(function (html) {
          if (html !== null && html !== undefined) { rows.innerHTML = html; tickCountdowns(); markUrgent(); }
        })
        .catch(function () { /* offline for a moment: keep the last list */ });
    }, 5000);
  }

  if (body.dataset.signedIn === "1") {
    var idle = parseInt(body.dataset.idleSeconds, 10) * 1000;
    var lastActivity = Date.now(), lastPing = Date.now();
    var warning = document.getElementById("idle-warning");
    ["click", "keydown", "input", "scroll", "touchstart"].forEach(function (type) {
      window.addEventListener(type, function () {
        lastActivity = Date.now();
        if (warning) { warning.hidden = true; }
        // Typing a long reply is activity: tell the server at most once a minute.
        if (lastActivity - lastPing > 60000) {
          lastPing = lastActivity;
          fetch("/api/touch", { method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" });
        }
      }, { passive: true });
    });
    setInterval(function () {
      var quiet = Date.now() - lastActivity;
      if (quiet >= idle) { signOut("idle"); }
      else if (warning && quiet >= idle - Math.min(60000, idle / 4)) { warning.hidden = false; }
    }, 1000);
  }

  tickCountdowns();
  markUrgent();
  setInterval(tickCountdowns, 1000);
})();
