// The story desk's "Embed this story" panel: copy one of its codes (the loader, the "latest N"
// teaser, the server-side include) in one click; each button names its textarea in data-copy.
(function () {
  "use strict";

  var status = document.getElementById("copy-embed-status");
  var buttons = document.querySelectorAll("#embed-code button[data-copy]");
  if (!status || !buttons.length) return;
  var words = {};
  try {
    words = JSON.parse(document.getElementById("desk-text").textContent); // see text.js
  } catch (error) {
    // no block: English
  }
  function text(english) {
    return typeof words[english] === "string" ? words[english] : english;
  }

  Array.prototype.forEach.call(buttons, function (button) {
    var snippet = document.getElementById(button.getAttribute("data-copy"));
    if (!snippet) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      snippet.select();
      status.textContent = "";
      var copied = navigator.clipboard && window.isSecureContext
        ? navigator.clipboard.writeText(snippet.value)
        : Promise.resolve(document.execCommand("copy")); // plain-http desks
      copied.then(
        function () { status.textContent = text("Copied."); },
        function () { status.textContent = text("Select the code and copy it (Ctrl+C or ⌘C)."); }
      );
    });
  });
})();
