(function () {
  "use strict";
  // Continue to the page the link names: post the form after a short pause, so that a mail scanner's
  // fetches of every link in the message arrive first and are recognised (the server judges the POST).
  var form = document.getElementById("continue");
  if (!form) { return; }
  window.setTimeout(function () { form.submit(); }, 800);
})();
