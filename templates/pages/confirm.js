(function () {
  "use strict";
  var form = document.getElementById("confirm");
  var status = document.getElementById("confirm-status");
  var retry = document.getElementById("confirm-retry");
  // Scripts off, the page's button posted the answer: the page that came back says it is saved.
  if (!form || !window.fetch || form.hasAttribute("data-confirmed")) { return; }
  var sent = false;
  // "pending", "saved" or "failed": the page's style follows the state, the text comes from the page.
  function say(state) {
    if (status) {
      status.setAttribute("data-state", state);
      status.querySelector(".text").textContent = status.getAttribute("data-" + state) || "";
    }
    if (retry) { retry.hidden = state !== "failed"; }
  }
  function failed() { sent = false; say("failed"); }
  function send() {
    if (sent) { return; }
    sent = true;
    var body = new URLSearchParams(new FormData(form));
    if (document.visibilityState === "hidden" && navigator.sendBeacon) {
      navigator.sendBeacon(form.action, body);
      return;
    }
    fetch(form.action, { method: "POST", body: body, credentials: "omit", keepalive: true })
      .then(function (response) { if (response.ok) { say("saved"); } else { failed(); } })
      .catch(failed);
  }
  if (retry) {
    retry.addEventListener("click", function () { say("pending"); send(); });
  }
  // A short pause lets the link activity of a mail scanner (which opens every link at once) arrive
  // first, so its answers are recognised; leaving the page sends the answer straight away.
  window.setTimeout(send, 2500);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { send(); }
  });
})();
