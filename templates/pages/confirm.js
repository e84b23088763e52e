(function () {
  "use strict";
  // A comment of only spaces or invisible characters is refused here, with words about an empty comment
  // (the server refuses it too, and re-shows the form when scripts are off), unless a follow-up question
  // was answered: then the comment is optional (an empty box is sent and the answers are saved).
  var commentForm = document.getElementById("comment-form");
  var commentBox = document.getElementById("comment");
  if (commentForm && commentBox && commentBox.setCustomValidity) {
    var invisible = /[\s\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufeff\uffa0\u0000-\u001f\u007f-\u009f]/g;
    commentBox.addEventListener("input", function () { commentBox.setCustomValidity(""); });
    commentForm.addEventListener("submit", function (event) {
      // With a follow-up question answered, the comment is optional.
      if (commentBox.value.replace(invisible, "") === "" && !commentForm.querySelector("input[type=radio]:checked")) {
        event.preventDefault();
        commentBox.value = "";
        commentBox.setCustomValidity(commentBox.getAttribute("data-empty") || "");
        commentBox.reportValidity();
      }
    });
  }
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
      if (status.parentNode && status.parentNode.setAttribute) { status.parentNode.setAttribute("data-state", state); }
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
