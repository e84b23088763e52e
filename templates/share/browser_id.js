(function () {
  "use strict";
  // The share link's browser id: 128 random bits kept in this browser's localStorage (never a cookie),
  // sent with the answer so a second answer from this browser edits the first instead of adding one.
  // Without storage (private mode, blocked) the page's own id stays: that page's answer is edited.
  var KEY = "nps-share-browser-id";
  function fresh() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    var text = "";
    for (var i = 0; i < bytes.length; i++) { text += String.fromCharCode(bytes[i]); }
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  var id = null;
  try {
    id = window.localStorage.getItem(KEY);
    if (!id || !/^[A-Za-z0-9_-]{16,64}$/.test(id)) {
      id = fresh();
      window.localStorage.setItem(KEY, id);
    }
  } catch (error) {
    id = null;
  }
  if (!id) { return; }
  var fields = document.querySelectorAll("input[name=b]");
  for (var j = 0; j < fields.length; j++) { fields[j].value = id; }
})();
