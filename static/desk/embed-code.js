// The story desk's "Embed this story" panel: copy the embed code in one click.
(function () {
  "use strict";

  var snippet = document.getElementById("embed-snippet");
  var button = document.getElementById("copy-embed");
  var status = document.getElementById("copy-embed-status");
  if (!snippet || !button || !status) return;
  button.hidden = false;

  button.addEventListener("click", function () {
    snippet.select();
    var copied = navigator.clipboard && window.isSecureContext
      ? navigator.clipboard.writeText(snippet.value)
      : Promise.resolve(document.execCommand("copy")); // plain-http desks
    copied.then(
      function () { status.textContent = "Copied."; },
      function () { status.textContent = "Select the code and copy it (Ctrl+C or ⌘C)."; }
    );
  });
})();
