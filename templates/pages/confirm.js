(function () {
  "use strict";
  var form = document.getElementById("confirm");
  var status = document.getElementById("confirm-status");
  // Scripts off, the page's button posted the answer: the page that came back says it is saved.
  if (!form || !window.fetch || form.hasAttribute("data-confirmed")) { return; }
  var sent = false;
  function say(key) { if (status) { status.textContent = status.getAttribute("data-" + key) || ""; } }
  function send() {
    if (sent) { return; }
    sent = true;
    var body = new URLSearchParams(new FormData(form));
    if (document.visibilityState === "hidden" && navigator.sendBeacon) {
      navigator.sendBeacon(form.action, body);
      return;
    }
    fetch(form.action, { method: "POST", body: body, credentials: "omit", keepalive: true })
      .then(function (response) { say(response.ok ? "saved" : "failed"); })
      .catch(function () { sent = false; say("failed"); });
  }
  // A short pause lets the link activity of a mail scanner (which opens every link at once) arrive
  // first, so its answers are recognised; leaving the page sends the answer straight away.
  window.setTimeout(send, 2500);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { send(); }
  });
})();
