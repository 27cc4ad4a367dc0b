// The story form's live label preview: what an entry posted now would be called.
(function () {
  "use strict";

  var DELAY_MS = 300;
  var zone = document.getElementById("timezone");
  var format = document.getElementById("label_format");
  var preview = document.getElementById("label-preview");
  var language = document.getElementById("language"); // the story's: its labels' words
  if (!zone || !format || !preview || !preview.dataset.url) return;

  var timer = null;
  var latest = 0;
  var words = {};
  try {
    words = JSON.parse(document.getElementById("desk-text").textContent); // see text.js
  } catch (error) {
    // no block: English
  }
  function text(english) {
    return typeof words[english] === "string" ? words[english] : english;
  }

  function showLabel() {
    var url = new URL(preview.dataset.url, window.location.href);
    url.searchParams.set("timezone", zone.value.trim());
    url.searchParams.set("label_format", format.value);
    if (language) url.searchParams.set("language", language.value);
    // Answers may arrive out of order while someone types; only the newest one is shown.
    var asked = ++latest;
    fetch(url.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json();
      })
      .then(function (data) {
        if (asked !== latest) return;
        var failed = !data.label;
        preview.textContent = failed ? (data.error && data.error.message) || text("No preview.") : data.label;
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
    if (language) language.addEventListener(type, soon);
  });
  showLabel();
})();

// Uploading a cover picture fills in its address; the alt text travels with it.
(function () {
  "use strict";

  var box = document.getElementById("cover-upload");
  var file = document.getElementById("cover-file");
  var status = document.getElementById("cover-upload-status");
  var alt = document.getElementById("cover_alt");
  var address = document.getElementById("cover_url");
  var token = document.querySelector('meta[name="csrf-token"]');
  if (!box || !file || !alt || !address || !token) return;
  box.hidden = false;
  var words = {};
  try {
    words = JSON.parse(document.getElementById("desk-text").textContent); // see text.js
  } catch (error) {
    // no block: English
  }
  function text(english) {
    return typeof words[english] === "string" ? words[english] : english;
  }

  file.addEventListener("change", function () {
    if (!file.files.length) return;
    if (!alt.value.trim()) {
      status.textContent = text("Write the alt text first: describe the picture for people who cannot see it.");
      alt.focus();
      file.value = "";
      return;
    }
    var form = new FormData();
    form.append("picture", file.files[0]);
    form.append("alt", alt.value.trim());
    form.append("csrf_token", token.content);
    status.textContent = text("Uploading…");
    fetch(box.dataset.uploadUrl, {
      method: "POST",
      body: form,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        return response.json().then(function (data) {
          return { ok: response.ok, data: data };
        });
      })
      .then(function (answer) {
        if (!answer.ok) throw new Error((answer.data.error && answer.data.error.message) || "");
        address.value = answer.data.url;
        status.textContent = text("Uploaded. Save the settings to use it.");
      })
      .catch(function (error) {
        status.textContent = error.message || text("The upload failed; try again.");
      });
  });
})();
