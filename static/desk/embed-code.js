// The story desk's "Embed this story" panel: copy the embed code in one click.
(function () {
  "use strict";

  var snippet = document.getElementById("embed-snippet");
  var button = document.getElementById("copy-embed");
  var status = document.getElementById("copy-embed-status");
  if (!snippet || !button || !status) return;
  var words = {};
  try {
    words = JSON.parse(document.getElementById("desk-text").textContent); // see text.js
  } catch (error) {
    // no block: English
  }
  function text(english) {
    return typeof words[english] === "string" ? words[english] : english;
  }
  button.hidden = false;

  button.addEventListener("click", function () {
    snippet.select();
    var copied = navigator.clipboard && window.isSecureContext
      ? navigator.clipboard.writeText(snippet.value)
      : Promise.resolve(document.execCommand("copy")); // plain-http desks
    copied.then(
      function () { status.textContent = text("Copied."); },
      function () { status.textContent = text("Select the code and copy it (Ctrl+C or ⌘C)."); }
    );
  });
})();
