// The story form's live label preview: what an entry posted now would be called.
(function () {
  "use strict";

  var DELAY_MS = 300;
  var zone = document.getElementById("timezone");
  var format = document.getElementById("label_format");
  var preview = document.getElementById("label-preview");
  if (!zone || !format || !preview || !preview.dataset.url) return;

  var timer = null;
  var latest = 0;

  function showLabel() {
    var url = new URL(preview.dataset.url, window.location.href);
    url.searchParams.set("timezone", zone.value.trim());
    url.searchParams.set("label_format", format.value);
    // Answers may arrive out of order while someone types; only the newest one is shown.
    var asked = ++latest;
    fetch(url.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json();
      })
      .then(function (data) {
        if (asked !== latest) return;
        var failed = !data.label;
        preview.textContent = failed ? (data.error && data.error.message) || "No preview." : data.label;
        preview.classList.toggle("label-preview-error", failed);
      })
      .catch(function () {
        // The preview is a convenience: with no connection the old label simply stays.
      });
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(showLabel, DELAY_MS);
  }

  ["input", "change"].forEach(function (type) {
    zone.addEventListener(type, soon);
    format.addEventListener(type, soon);
  });
  showLabel();
})();
