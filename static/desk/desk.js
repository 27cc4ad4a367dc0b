// The desk's script: a rich editor, autosave, safe submits, pictures, preview and the live list.
// Every page works without it; this layer makes posting fast and keeps text safe under pressure.
(function () {
  "use strict";

  var AUTOSAVE_DELAY_MS = 400;
  var PREVIEW_DELAY_MS = 700;
  // The count adds up every process's reports, which are a few seconds old anyway.
  var READERS_EVERY_MS = 15000;
  var MAX_RETRY_MS = 30000;
  var MAX_SOCKET_BACKOFF_MS = 30000;
  // The server sends a heartbeat every 25 s; silence for much longer means a dead connection.
  var SOCKET_SILENCE_MS = 70000;
  var OFFLINE_MESSAGE =
    "You are offline. Your text is kept and will be sent when the connection returns.";
  var DELETE_QUESTION = "Delete this entry? Readers will see it disappear.";
  // A line that is only a tweet, YouTube or Vimeo address becomes an embed on the server.
  var EMBED_LINE =
    /^\s*https?:\/\/(?:www\.|mobile\.|m\.)?(?:twitter\.com|x\.com|youtube\.com|youtu\.be|vimeo\.com|player\.vimeo\.com)\/\S+\s*$/im;

  /* ---------- small shared helpers ---------- */

  // post-card.js, loaded first where the composer can embed posts on X.
  var postCards = window.liveblogPostCards || null;

  function byId(id) {
    return document.getElementById(id);
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function debounce(fn, delay) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, delay);
    };
  }

  function fromHtml(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  // The desk answers JSON when asked; some refusals (CSRF, 403, 413) still come as pages,
  // and an ended session redirects to the login page. Turn all of them into one shape.
  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).then(readAnswer);
  }

  function readAnswer(response) {
    var type = response.headers.get("Content-Type") || "";
    if (response.redirected && response.url.indexOf("/admin/login") !== -1) {
      return { ok: false, status: 401, data: { error: { message: sessionMessage() } } };
    }
    if (type.indexOf("application/json") === -1) {
      return { ok: false, status: response.status, data: { error: { message: httpMessage(response.status) } } };
    }
    return response.json().then(function (data) {
      return { ok: response.ok, status: response.status, data: data || {} };
    }, function () {
      return { ok: false, status: response.status, data: { error: { message: httpMessage(response.status) } } };
    });
  }

  function sessionMessage() {
    return "Your session has ended. Log in again in another tab, then send again: your text is kept.";
  }

  function httpMessage(status) {
    var messages = {
      400: "The form has expired. Reload the page to send it (your text is kept here).",
      403: "Your role may not do this.",
      404: "That entry or story no longer exists.",
      413: "That is too big to send (the server refused its size).",
      429: "Too many requests; wait a moment and try again.",
    };
    return messages[status] || "The server could not do that (HTTP " + status + "). Your text is kept.";
  }

  function errorMessage(answer) {
    var error = answer.data && answer.data.error;
    return (error && error.message) || httpMessage(answer.status);
  }

  function flash(text, kind) {
    var flashes = byId("flashes");
    if (!flashes) return;
    var line = document.createElement("p");
    line.className = "flash flash-" + kind;
    line.textContent = text;
    flashes.replaceChildren(line);
  }

  /* ---------- the compose / edit form ---------- */

  function setUpForm(form) {
    var textarea = byId("body");
    var status = byId("compose-status");
    var editPage = byId("edit-entry");
    var state = {
      form: form,
      textarea: textarea,
      status: status,
      editPage: editPage,
      quill: null,
      pictures: [], // {markup, src, alt}: kept beside the editor because Quill drops <figure>
      busy: false,
      pending: null, // the action waiting for the connection to return
      retryTimer: null,
      retries: 0,
      storageKey: storageKey(editPage),
    };
    state.initial = null;
    if (textarea) startEditor(state);
    state.initial = snapshot(state);
    setUpAutosave(state);
    setUpSubmit(state);
    setUpShortcuts(state);
    setUpPreview(state);
    setUpPictures(state);
    setUpTimeChoices(state);
    if (editPage) setUpLoadText(state);
    return state;
  }

  function storageKey(editPage) {
    // /admin/stories/<slug>/entries/<id>/edit or /admin/stories/<slug>
    var parts = window.location.pathname.split("/");
    var slug = parts[3] || "unknown";
    var key = "liveblog:unsent:" + slug;
    if (editPage && parts[5]) key += ":entry:" + parts[5];
    return key;
  }

  /* Quill replaces the textarea; the textarea stays in the form (hidden) and is what is sent. */

  function startEditor(state) {
    if (typeof window.Quill !== "function") return; // the plain textarea keeps working
    var textarea = state.textarea;
    var holder = document.createElement("div");
    holder.className = "editor";
    holder.id = "editor";
    textarea.insertAdjacentElement("afterend", holder);
    var quill;
    try {
      quill = new window.Quill(holder, {
        theme: "snow",
        placeholder: "Write the update…",
        formats: ["bold", "italic", "link", "list", "blockquote", "header"],
        modules: {
          toolbar: [
            [{ header: [2, 3, 4, false] }],
            ["bold", "italic", "link"],
            [{ list: "bullet" }, { list: "ordered" }],
            ["blockquote", "clean"],
          ],
        },
      });
    } catch (error) {
      holder.remove();
      return;
    }
    state.quill = quill;
    var label = document.querySelector('label[for="body"]');
    if (label) label.id = "body-label";
    quill.root.setAttribute("aria-labelledby", "body-label");
    quill.root.setAttribute("aria-multiline", "true");
    quill.root.setAttribute("role", "textbox");
    if (textarea.getAttribute("aria-describedby")) {
      quill.root.setAttribute("aria-describedby", textarea.getAttribute("aria-describedby"));
    }
    setBody(state, textarea.value);
    textarea.hidden = true; // hidden, not disabled: it is still submitted
    quill.container.addEventListener("paste", function (event) {
      pasteEmbedCode(quill, event);
    }, true);
    quill.on("text-change", function () {
      syncTextarea(state);
    });
  }

  // X's "embed post" code pasted into the editor would arrive as literal text: put the post's
  // address on its own line instead, and its text and author in the post's fields.
  function pasteEmbedCode(quill, event) {
    var text = event.clipboardData ? event.clipboardData.getData("text/plain") : "";
    if (!/<blockquote[^>]*twitter-tweet/i.test(text)) return;
    var match = text.match(/https:\/\/(?:twitter|x)\.com\/\w{1,15}\/status\/\d+/);
    if (!match) return;
    event.preventDefault();
    event.stopPropagation();
    if (postCards) postCards.rememberPasted(text); // its text and author fill the post's fields
    var range = quill.getSelection(true);
    quill.insertText(range.index, "\n" + match[0] + "\n", "user");
  }

  // Text from the API may be plain paragraphs; the server reads blank lines as breaks, so must we.
  var BLOCK_TAG = /<(p|div|ul|ol|li|blockquote|h[1-6]|figure|pre|table|hr)\b/i;

  function asParagraphs(source) {
    if (!source.trim() || BLOCK_TAG.test(source)) return source;
    return source.trim().split(/\n[ \t]*\n/).map(function (chunk) {
      return "<p>" + chunk.trim().replace(/\n/g, "<br>") + "</p>";
    }).join("");
  }

  // Load HTML into the editor, keeping pictures aside: Quill has no figure and would drop them.
  function setBody(state, html) {
    if (!state.quill) {
      state.textarea.value = html;
      return;
    }
    var template = document.createElement("template");
    template.innerHTML = asParagraphs(html || "");
    if (postCards) postCards.extract(template.content); // a post's quote: its address + fields
    var figures = template.content.querySelectorAll("figure");
    state.pictures = [];
    figures.forEach(function (figure) {
      var img = figure.querySelector("img");
      state.pictures.push({
        markup: figure.outerHTML,
        src: img ? img.getAttribute("src") : "",
        alt: img ? img.getAttribute("alt") : "",
      });
      figure.remove();
    });
    state.quill.setContents([], "silent");
    state.quill.clipboard.dangerouslyPasteHTML(0, template.innerHTML, "silent");
    renderKeptPictures(state);
    syncTextarea(state);
  }

  function editorHtml(state) {
    if (!state.quill) return state.textarea.value;
    if (!state.quill.getText().trim()) return "";
    // Quill 2.0.3 writes every space as &nbsp;, which stops lines from wrapping for readers.
    return state.quill.getSemanticHTML().replace(/&nbsp;/g, " ");
  }

  function picturesHtml(state) {
    return state.pictures.map(function (picture) {
      return picture.markup;
    }).join("\n");
  }

  function syncTextarea(state) {
    if (!state.quill) return;
    var html = editorHtml(state);
    if (postCards) html = postCards.apply(html, state.form);
    var pictures = picturesHtml(state);
    state.textarea.value = pictures ? (html ? html + "\n" : "") + pictures : html;
  }

  /* ---------- autosave to localStorage ---------- */

  function fieldValue(name) {
    var field = byId(name);
    if (!field) return undefined;
    return field.type === "checkbox" ? field.checked : field.value;
  }

  function setFieldValue(name, value) {
    var field = byId(name);
    if (!field || value === undefined) return;
    if (field.type === "checkbox") field.checked = Boolean(value);
    else field.value = value;
  }

  function snapshot(state) {
    return {
      headline: fieldValue("headline") || "",
      body: state.quill ? editorHtml(state) : state.textarea ? state.textarea.value : "",
      pictures: state.pictures.slice(),
      label: fieldValue("label") || "",
      pinned: Boolean(fieldValue("pinned")),
      correction: fieldValue("correction") || "",
    };
  }

  function sameText(a, b) {
    return a.headline === b.headline && a.body === b.body && a.label === b.label &&
      a.pinned === b.pinned && a.correction === b.correction &&
      JSON.stringify(a.pictures) === JSON.stringify(b.pictures);
  }

  function saveDraft(state) {
    var now = snapshot(state);
    try {
      if (sameText(now, state.initial)) localStorage.removeItem(state.storageKey);
      else localStorage.setItem(state.storageKey, JSON.stringify(now));
    } catch (error) {
      // Private mode or a full quota: the text is still in the form, which is all we can do.
    }
  }

  function readDraft(state) {
    try {
      return JSON.parse(localStorage.getItem(state.storageKey) || "null");
    } catch (error) {
      return null;
    }
  }

  function clearDraft(state) {
    try {
      localStorage.removeItem(state.storageKey);
    } catch (error) {
      // nothing stored, nothing to clear
    }
  }

  function applyDraft(state, draft) {
    setFieldValue("headline", draft.headline);
    setFieldValue("label", draft.label);
    setFieldValue("pinned", draft.pinned);
    setFieldValue("correction", draft.correction);
    if (state.quill) {
      setBody(state, draft.body || "");
      state.pictures = draft.pictures || [];
      renderKeptPictures(state);
      syncTextarea(state);
    } else if (state.textarea) {
      state.textarea.value = draft.body || "";
    }
  }

  function setUpAutosave(state) {
    var save = debounce(function () {
      saveDraft(state);
    }, AUTOSAVE_DELAY_MS);
    state.saveSoon = save;
    state.form.addEventListener("input", save);
    state.form.addEventListener("change", save);
    if (state.quill) state.quill.on("text-change", save);
    // A tab closed within the debounce still keeps the last keystrokes.
    window.addEventListener("pagehide", function () {
      if (!state.sent) saveDraft(state);
    });
    var draft = readDraft(state);
    if (draft && !sameText(draft, state.initial)) {
      applyDraft(state, draft);
      showRestoreNote(state);
    }
  }

  function showRestoreNote(state) {
    var note = document.createElement("p");
    note.className = "restore-note";
    note.id = "restore-note";
    note.setAttribute("role", "status");
    note.append("Restored your unsent text. ");
    var discard = document.createElement("button");
    discard.type = "button";
    discard.className = "link-button";
    discard.id = "discard-restored";
    discard.textContent = "Discard it";
    discard.addEventListener("click", function () {
      applyDraft(state, state.initial);
      clearDraft(state);
      note.remove();
    });
    note.append(discard);
    state.form.prepend(note);
  }

  /* ---------- sending: fetch, idempotency key, offline retry ---------- */

  function buttons(state) {
    return state.form.querySelectorAll("button[type=submit], #preview-button");
  }

  function setBusy(state, busy) {
    state.busy = busy;
    state.form.setAttribute("aria-busy", busy ? "true" : "false");
    buttons(state).forEach(function (button) {
      button.disabled = busy;
    });
  }

  function showStatus(state, text, kind) {
    if (!state.status) return;
    state.status.textContent = text;
    state.status.className = "compose-status" + (kind ? " " + kind : "");
  }

  function setUpSubmit(state) {
    state.form.addEventListener("submit", function (event) {
      event.preventDefault();
      var submitter = event.submitter;
      var action = submitter && submitter.name === "action" ? submitter.value : null;
      send(state, action);
    });
    window.addEventListener("online", function () {
      if (state.pending) retryNow(state);
    });
  }

  function send(state, action) {
    // Two clicks in a row, or Ctrl+Enter during a send, must not start a second request.
    if (state.busy) return;
    syncTextarea(state);
    clearFieldErrors(state);
    state.pending = { action: action };
    clearTimeout(state.retryTimer);
    if (navigator.onLine === false) {
      showOffline(state);
      return;
    }
    var body = new FormData(state.form);
    if (action) body.set("action", action);
    setBusy(state, true);
    showStatus(state, "Sending…", "");
    // getAttribute: form.action would be the buttons named "action".
    postJson(state.form.getAttribute("action") || window.location.href, body).then(
      function (answer) {
        setBusy(state, false);
        state.pending = null;
        state.retries = 0;
        if (answer.ok) onSent(state, answer.data);
        else onRefused(state, answer);
      },
      function () {
        // No answer at all: keep the text and the SAME key, so a retry can never post twice.
        setBusy(state, false);
        showOffline(state);
      }
    );
  }

  function showOffline(state) {
    showStatus(state, OFFLINE_MESSAGE, "offline");
    scheduleRetry(state);
  }

  function scheduleRetry(state) {
    // Capped exponential backoff with jitter; the online event retries at once.
    clearTimeout(state.retryTimer);
    state.retries += 1;
    var ceiling = Math.min(MAX_RETRY_MS, 1000 * Math.pow(2, state.retries));
    var delay = ceiling / 2 + Math.random() * (ceiling / 2);
    state.retryTimer = setTimeout(function () {
      if (navigator.onLine === false) scheduleRetry(state);
      else retryNow(state);
    }, delay);
  }

  function retryNow(state) {
    if (!state.pending || state.busy) return;
    var action = state.pending.action;
    send(state, action);
  }

  function onSent(state, data) {
    state.sent = true;
    clearDraft(state);
    var message = data.message || "Saved.";
    if (state.editPage) {
      // Stay on the page: the version moves on so the next save is not taken for a conflict.
      if (data.entry) setVersion(String(data.entry.version));
      var conflict = byId("conflict-js");
      if (conflict) conflict.remove();
      state.initial = snapshot(state);
      state.sent = false;
      showStatus(state, message + " Readers see the change now.", "ok");
      return;
    }
    var key = state.form.querySelector('[name="idempotency_key"]');
    if (key && data.next_key) key.value = data.next_key;
    resetCompose(state);
    showStatus(state, message, "ok");
    state.sent = false;
    if (data.entry && (data.entry.status !== "published" || data.entry.pinned)) {
      refreshSideListsSoon();
    }
  }

  function resetCompose(state) {
    ["headline", "label", "scheduled_for"].forEach(function (name) {
      setFieldValue(name, "");
    });
    setFieldValue("pinned", false);
    removeTimeChoices();
    state.pictures = [];
    if (postCards) postCards.clear();
    var list = byId("picture-list");
    if (list) list.replaceChildren();
    if (state.quill) {
      state.quill.setContents([], "silent");
      syncTextarea(state);
    } else if (state.textarea) {
      state.textarea.value = "";
    }
    var preview = byId("preview");
    if (preview) preview.hidden = true;
    var note = byId("restore-note");
    if (note) note.remove();
    state.initial = snapshot(state);
    state.lastPreviewed = "";
  }

  function onRefused(state, answer) {
    var error = (answer.data && answer.data.error) || {};
    if ((answer.status === 409 || answer.status === 412) && error.current) {
      showConflict(state, error);
      return;
    }
    showFieldErrors(state, error.fields || {});
    if (error.choices) showTimeChoices(state, error.choices);
    showStatus(state, errorMessage(answer), "error");
  }

  /* ---------- a publishing time that happens twice (clocks go back): ask which one ---------- */

  function removeTimeChoices() {
    var choices = byId("time-choices");
    if (choices) choices.remove();
  }

  function showTimeChoices(state, choices) {
    removeTimeChoices();
    var input = state.form.querySelector('[name="scheduled_for"]');
    var row = input && input.closest(".field-row");
    if (!row) return;
    var fieldset = document.createElement("fieldset");
    fieldset.className = "field time-choices";
    fieldset.id = "time-choices";
    var legend = document.createElement("legend");
    legend.textContent = "That time happens twice (the clocks go back): which one?";
    fieldset.append(legend);
    choices.forEach(function (choice) {
      var label = document.createElement("label");
      var radio = document.createElement("input");
      radio.type = "radio";
      radio.name = "scheduled_offset";
      radio.value = choice.offset;
      label.append(radio, " " + choice.label);
      fieldset.append(label);
    });
    row.insertAdjacentElement("afterend", fieldset);
  }

  function setUpTimeChoices(state) {
    // A new time needs its own answer: a choice made for another time must not linger.
    var input = state.form.querySelector('[name="scheduled_for"]');
    if (input) input.addEventListener("input", removeTimeChoices);
  }

  /* ---------- field errors ---------- */

  function clearFieldErrors(state) {
    state.form.querySelectorAll(".js-field-error").forEach(function (node) {
      node.remove();
    });
    state.form.querySelectorAll(".field--js-error").forEach(function (field) {
      field.classList.remove("field--error", "field--js-error");
    });
  }

  function showFieldErrors(state, fields) {
    Object.keys(fields).forEach(function (name) {
      var input = state.form.querySelector('[name="' + CSS.escape(name) + '"]');
      var field = input && input.closest(".field");
      if (!field) return;
      field.classList.add("field--error", "field--js-error");
      var message = document.createElement("strong");
      message.className = "js-field-error";
      message.textContent = fields[name] + " ";
      var hint = field.querySelector(".field-hint");
      if (!hint) {
        hint = document.createElement("p");
        hint.className = "field-hint";
        field.append(hint);
      }
      hint.prepend(message);
    });
  }

  /* ---------- keyboard: Ctrl/Cmd+Enter publishes; Enter in a one-line field does not ---------- */

  function setUpShortcuts(state) {
    // Capture phase, so the editor never turns the shortcut into a new line.
    state.form.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      if (event.ctrlKey || event.metaKey) {
        event.preventDefault();
        event.stopPropagation();
        var publish = byId("publish");
        if (publish && !publish.disabled) publish.click();
        return;
      }
      // Enter in the headline would otherwise publish half an entry by implicit submission.
      var target = event.target;
      if (target.tagName === "INPUT" && target.type !== "submit" && target.type !== "checkbox") {
        event.preventDefault();
      }
    }, true);
  }

  /* ---------- preview ---------- */

  function setUpPreview(state) {
    var button = byId("preview-button");
    var url = state.form.dataset.previewUrl;
    if (!button || !url || !byId("preview-body")) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      preview(state);
    });
    state.lastPreviewed = "";
    var autoPreview = debounce(function () {
      var body = bodyText(state);
      var lines = body.split("\n").filter(function (line) {
        return EMBED_LINE.test(line);
      }).join("\n");
      // Only when an embed line appears or changes, so typing does not flood the server.
      if (lines && lines !== state.lastPreviewed) {
        state.lastPreviewed = lines;
        preview(state);
      }
    }, PREVIEW_DELAY_MS);
    if (state.quill) state.quill.on("text-change", autoPreview);
    else state.textarea.addEventListener("input", autoPreview);
  }

  function bodyText(state) {
    return state.quill ? state.quill.getText() : state.textarea.value;
  }

  function preview(state) {
    syncTextarea(state);
    var box = byId("preview");
    var target = byId("preview-body");
    postJson(state.form.dataset.previewUrl, new FormData(state.form))
      .then(function (answer) {
        box.hidden = false;
        if (answer.ok && answer.data.html !== undefined) {
          // Server-rendered from cleaned HTML: the same markup readers get.
          target.innerHTML = answer.data.html;
        } else {
          var message = document.createElement("p");
          message.className = "compose-status error";
          message.textContent = errorMessage(answer);
          target.replaceChildren(message);
        }
      })
      .catch(function () {
        box.hidden = false;
        target.textContent = "The preview needs a connection.";
      });
  }

  /* ---------- pictures ---------- */

  function setUpPictures(state) {
    var zone = byId("pictures");
    var input = byId("picture-file");
    var url = state.form.dataset.uploadUrl;
    if (!zone || !input || !url) return;
    zone.hidden = false;
    input.addEventListener("change", function () {
      addFiles(state, input.files);
      input.value = "";
    });
    zone.addEventListener("dragover", function (event) {
      event.preventDefault();
      zone.classList.add("dragging");
    });
    zone.addEventListener("dragleave", function () {
      zone.classList.remove("dragging");
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("dragging");
      addFiles(state, event.dataTransfer.files);
    });
    renderKeptPictures(state);
  }

  function addFiles(state, files) {
    Array.prototype.forEach.call(files, function (file) {
      byId("picture-list").append(pictureRow(state, file));
    });
  }

  var rowCount = 0;

  function textInput(row, name, labelText, required) {
    rowCount += 1;
    var id = "picture-" + name + "-" + rowCount;
    var wrap = document.createElement("div");
    wrap.className = "field";
    var label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = labelText;
    var input = document.createElement("input");
    input.type = "text";
    input.id = id;
    input.className = "picture-" + name;
    input.required = required;
    wrap.append(label, input);
    row.append(wrap);
    return input;
  }

  // One chosen file: a thumbnail, its alt text, caption and credit, and an Insert button.
  function pictureRow(state, file) {
    var row = document.createElement("li");
    row.className = "picture-row";
    var thumb = document.createElement("img");
    thumb.className = "picture-thumb";
    thumb.alt = "";
    thumb.src = URL.createObjectURL(file);
    var fields = document.createElement("div");
    fields.className = "picture-fields";
    var name = document.createElement("p");
    name.className = "picture-name";
    name.textContent = file.name;
    fields.append(name);
    var alt = textInput(fields, "alt", "Alt text (required): what the picture shows", true);
    var caption = textInput(fields, "caption", "Caption", false);
    var credit = textInput(fields, "credit", "Credit", false);
    var actions = document.createElement("div");
    actions.className = "picture-actions";
    var insert = document.createElement("button");
    insert.type = "button";
    insert.className = "button small primary picture-insert";
    insert.textContent = "Insert";
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "button small";
    remove.textContent = "Remove";
    var status = document.createElement("p");
    status.className = "picture-status";
    status.setAttribute("role", "status");
    actions.append(insert, remove, status);
    fields.append(actions);
    row.append(thumb, fields);
    insert.addEventListener("click", function () {
      uploadPicture(state, { file: file, alt: alt, caption: caption, credit: credit,
                             insert: insert, status: status, row: row, thumb: thumb });
    });
    remove.addEventListener("click", function () {
      URL.revokeObjectURL(thumb.src);
      row.remove();
    });
    return row;
  }

  function uploadPicture(state, parts) {
    if (!parts.alt.value.trim()) {
      parts.status.textContent = "Describe the picture in its alt text first.";
      parts.status.className = "picture-status error";
      parts.alt.setAttribute("aria-invalid", "true");
      parts.alt.focus();
      return;
    }
    parts.alt.removeAttribute("aria-invalid");
    var body = new FormData();
    body.append("picture", parts.file);
    body.append("alt", parts.alt.value);
    body.append("caption", parts.caption.value);
    body.append("credit", parts.credit.value);
    body.append("csrf_token", csrfToken());
    parts.insert.disabled = true;
    parts.status.textContent = "Uploading…";
    parts.status.className = "picture-status";
    postJson(state.form.dataset.uploadUrl, body)
      .then(function (answer) {
        parts.insert.disabled = false;
        if (!answer.ok || !answer.data.markup) {
          parts.status.textContent = errorMessage(answer);
          parts.status.className = "picture-status error";
          return;
        }
        URL.revokeObjectURL(parts.thumb.src);
        parts.row.remove();
        insertPicture(state, answer.data.markup);
      })
      .catch(function () {
        parts.insert.disabled = false;
        parts.status.textContent = "Upload failed: no connection. Try Insert again.";
        parts.status.className = "picture-status error";
      });
  }

  function insertPicture(state, markup) {
    if (!state.quill) {
      // Plain textarea: it holds HTML, so the figure goes straight in at the end.
      state.textarea.value = state.textarea.value.replace(/\s*$/, "\n") + markup;
      state.saveSoon();
      return;
    }
    var img = fromHtml(markup).querySelector("img");
    state.pictures.push({
      markup: markup,
      src: img ? img.getAttribute("src") : "",
      alt: img ? img.getAttribute("alt") : "",
    });
    renderKeptPictures(state);
    syncTextarea(state);
    state.saveSoon();
  }

  // Pictures already in the entry, shown under the editor; they go after the text on sending.
  function renderKeptPictures(state) {
    var zone = byId("pictures");
    if (!zone || !state.quill) return;
    var list = byId("kept-pictures");
    if (!list) {
      list = document.createElement("ul");
      list.id = "kept-pictures";
      list.className = "kept-pictures";
      list.setAttribute("aria-label", "Pictures in this entry (shown after the text)");
      zone.insertBefore(list, zone.querySelector("input[type=file]"));
    }
    list.replaceChildren();
    state.pictures.forEach(function (picture, index) {
      var item = document.createElement("li");
      item.className = "kept-picture";
      var img = document.createElement("img");
      if (/^(\/|https?:)/.test(picture.src || "")) img.src = picture.src;
      img.alt = picture.alt || "";
      var text = document.createElement("span");
      text.textContent = picture.alt || "(no alt text)";
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "button small";
      remove.textContent = "Take out";
      remove.setAttribute("aria-label", "Take out picture: " + (picture.alt || ""));
      remove.addEventListener("click", function () {
        state.pictures.splice(index, 1);
        renderKeptPictures(state);
        syncTextarea(state);
        if (state.saveSoon) state.saveSoon();
      });
      item.append(img, text, remove);
      list.append(item);
    });
    list.hidden = state.pictures.length === 0;
  }

  /* ---------- edit page: a refused stale save, and text loaded by the conflict choices ---------- */

  // conflict.js offers the choices; the version field keeps the version this text was based on,
  // so saving again without choosing is refused again instead of replacing the colleague's text.
  function showConflict(state, error) {
    state.form.dispatchEvent(new CustomEvent("desk:conflict", { detail: error, bubbles: true }));
    showStatus(state, error.message || "Someone else saved this entry first.", "error");
  }

  // {headline, body, version}: "Keep theirs" and "Edit a merge" put that text in the editor.
  function setUpLoadText(state) {
    state.form.addEventListener("desk:load-text", function (event) {
      var text = event.detail || {};
      if (text.headline !== undefined) setFieldValue("headline", text.headline || "");
      if (text.body !== undefined) setBody(state, text.body || "");
      if (text.version !== undefined) setVersion(String(text.version));
      if (state.saveSoon) state.saveSoon();
    });
  }

  function setVersion(version) {
    setFieldValue("version", version);
    var heading = byId("entry-version");
    if (heading) heading.textContent = version;
  }

  /* ---------- story desk: held lists, actions and the live list ---------- */

  // Drafts, scheduled and pending entries and the LATEST box order are not in the live stream:
  // fetch the desk again and swap in just those panels (the published list stays as it is).
  function refreshSideLists() {
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        return response.ok ? response.text() : Promise.reject(new Error(String(response.status)));
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var lists = document.querySelector(".desk-lists");
        var published = byId("published-title");
        if (!lists || !published) return;
        var before = published.closest("section");
        ["key-order", "held-pending", "held-scheduled", "held-draft"].reverse().forEach(function (id) {
          var old = sidePanel(document, id);
          var next = sidePanel(fresh, id);
          if (old && next) old.replaceWith(document.adoptNode(next));
          else if (old) old.remove();
          else if (next) lists.insertBefore(document.adoptNode(next), before);
          if (next) before = next;
        });
      })
      .catch(function () {
        window.location.reload();
      });
  }

  function sidePanel(doc, id) {
    var element = doc.getElementById(id);
    return element && id === "key-order" ? element.closest("section") : element;
  }

  var refreshSideListsSoon = debounce(refreshSideLists, 300);

  function removeHeld(id) {
    var item = byId("held-" + id);
    if (!item || !item.classList.contains("held-entry")) return;
    var section = item.closest("section.held");
    item.remove();
    if (!section) return;
    var left = section.querySelectorAll(".held-entry").length;
    var heading = section.querySelector("h2");
    if (left === 0) section.remove();
    else if (heading) heading.textContent = heading.textContent.replace(/\(\d+\)/, "(" + left + ")");
  }

  function setUpActions() {
    document.addEventListener("submit", function (event) {
      var form = event.target.closest("form.js-action");
      if (!form) return;
      event.preventDefault();
      runAction(form, form.action, new FormData(form), form.querySelectorAll("button"));
    });
    document.addEventListener("click", function (event) {
      var link = event.target.closest("a.js-delete");
      if (!link) return;
      event.preventDefault();
      if (!window.confirm(DELETE_QUESTION)) return;
      var body = new FormData();
      body.append("csrf_token", csrfToken());
      runAction(link, link.href, body, []);
    });
  }

  function runAction(source, url, body, controls) {
    var held = source.closest(".held-entry");
    var wrapper = source.closest(".desk-entry");
    controls.forEach(function (button) {
      button.disabled = true;
    });
    postJson(url, body)
      .then(function (answer) {
        controls.forEach(function (button) {
          button.disabled = false;
        });
        if (!answer.ok) {
          flash(errorMessage(answer), "error");
          return;
        }
        flash(answer.data.message || "Done.", "success");
        refreshSideListsSoon(); // held lists and the LATEST box order may have changed
        // Published entries change through the live stream; a delete can go at once.
        if (wrapper && /\/delete$/.test(url)) removeDeskEntry(wrapper.id.replace("desk-entry-", ""));
      })
      .catch(function () {
        controls.forEach(function (button) {
          button.disabled = false;
        });
        flash("No connection: nothing was changed. Try again.", "error");
      });
  }

  function controlsFor(entry) {
    var template = byId(entry.pinned ? "controls-template-pinned" : "controls-template");
    if (!template) return null;
    return fromHtml(template.innerHTML.replace(/__ID__/g, String(entry.id)));
  }

  function deskEntry(frame) {
    var wrapper = document.createElement("div");
    wrapper.className = "desk-entry";
    wrapper.id = "desk-entry-" + frame.entry.id;
    wrapper.dataset.seq = String(frame.seq);
    wrapper.dataset.published = frame.entry.published_at || "";
    wrapper.append(fromHtml(frame.html));
    var controls = controlsFor(frame.entry);
    if (controls) wrapper.append(controls);
    return wrapper;
  }

  function updateCount() {
    var count = byId("published-count");
    var list = byId("entries");
    if (count && list) count.textContent = String(list.querySelectorAll(":scope > .desk-entry").length);
  }

  function removeDeskEntry(id) {
    var gone = byId("desk-entry-" + id);
    if (gone) gone.remove();
    updateCount();
  }

  function insertDeskEntry(list, wrapper) {
    // Newest first by publish time; a fresh entry almost always goes to the top.
    var published = wrapper.dataset.published;
    var children = list.querySelectorAll(":scope > .desk-entry");
    for (var i = 0; i < children.length; i++) {
      var article = children[i].querySelector(".entry");
      var theirs = children[i].dataset.published || (article && article.dataset.published) || "";
      if (theirs <= published) {
        list.insertBefore(wrapper, children[i]);
        return;
      }
    }
    list.appendChild(wrapper);
  }

  function applyFrame(frame) {
    var list = byId("entries");
    if (frame.type === "entry.created" || frame.type === "entry.updated") {
      removeHeld(frame.entry.id); // approved, or published by the scheduler
      var wrapper = deskEntry(frame);
      var current = byId(wrapper.id);
      if (frame.entry.pinned || (current && current.querySelector(".entry--key"))) {
        refreshSideListsSoon(); // a key entry came, went or changed: the LATEST order panel too
      }
      if (current) current.replaceWith(wrapper);
      else if (frame.type === "entry.created") {
        var empty = byId("no-entries");
        if (empty) empty.remove();
        insertDeskEntry(list, wrapper);
      }
    } else if (frame.type === "entry.deleted") {
      var gone = byId("desk-entry-" + frame.entry.id);
      if (gone && gone.querySelector(".entry--key")) refreshSideListsSoon();
      removeDeskEntry(frame.entry.id);
    } else if (frame.type === "story.updated") {
      var status = byId("desk-status");
      if (status) {
        status.textContent = frame.story.status;
        status.className = "badge badge-" + frame.story.status;
      }
    }
    updateCount();
  }

  // Close codes after which the desk's live list stops reconnecting, with what to tell the desk.
  var LIVE_STOPPED = {
    4404: "Readers cannot see this story (it is a draft), so this list is not updated live. Reload the page once it goes live.",
    4410: "This story is archived: readers get a static page, and this list is not updated live.",
  };

  function showLiveNote(text) {
    var note = byId("live-note");
    if (!note) return;
    note.textContent = text;
    note.hidden = false;
  }

  function setUpLiveList(desk) {
    if (!("WebSocket" in window) || !desk.dataset.liveUrl || !byId("entries")) return;
    var lastSeq = parseInt(desk.dataset.seq, 10) || 0;
    var socket = null;
    var attempts = 0;
    var watchdog = null;

    function armWatchdog() {
      clearTimeout(watchdog);
      watchdog = setTimeout(function () {
        if (socket) socket.close(4001, "silent");
      }, SOCKET_SILENCE_MS);
    }

    function onMessage(event) {
      armWatchdog();
      var frame;
      try {
        frame = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (frame.type === "heartbeat") return;
      if (frame.type === "story.reset") {
        window.location.reload();
        return;
      }
      if (typeof frame.seq !== "number" || frame.seq <= lastSeq) return; // seen already
      if (frame.seq > lastSeq + 1) {
        socket.close(4000, "gap"); // a hole: reconnect and let the server replay from lastSeq
        return;
      }
      applyFrame(frame);
      lastSeq = frame.seq;
      desk.dataset.seq = String(lastSeq);
    }

    function connect() {
      var url = new URL(desk.dataset.liveUrl, window.location.href);
      url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
      url.searchParams.set("after", String(lastSeq));
      socket = new WebSocket(url.toString());
      socket.addEventListener("open", function () {
        attempts = 0;
        armWatchdog();
      });
      socket.addEventListener("message", onMessage);
      socket.addEventListener("close", function (event) {
        clearTimeout(watchdog);
        socket = null;
        // As on the reader page: a draft (4404) or archived (4410) story has no live stream, so
        // asking again every 30 s forever would only load the server; say so and stop.
        if (LIVE_STOPPED[event.code]) {
          showLiveNote(LIVE_STOPPED[event.code]);
          return;
        }
        if (event.code === 1012) attempts = 0; // a server restarting: come back at once, elsewhere
        // Capped exponential backoff with full jitter, so many desks do not reconnect in step.
        attempts += 1;
        var ceiling = Math.min(MAX_SOCKET_BACKOFF_MS, 500 * Math.pow(2, attempts));
        setTimeout(connect, Math.random() * ceiling);
      });
    }

    connect();
  }

  /* ---------- story desk: what watch.js hears (held entries, the story's status) ---------- */

  function setUpDeskWatch(desk) {
    document.addEventListener("desk:watch", function (event) {
      var state = event.detail || {};
      if (state.status && state.status !== desk.dataset.status) {
        // Ended or reopened elsewhere: the page's actions and composer change with it. Unsent
        // text is kept by the autosave and offered back after the reload.
        window.location.reload();
        return;
      }
      refreshSideLists(); // a submission, approval, draft or schedule: swap in the held lists
    });
  }

  /* ---------- start ---------- */

  /* ---------- story desk: the open-reader count ---------- */

  function setUpReaderCount() {
    var count = byId("reader-count");
    var noun = byId("reader-noun");
    if (!count || !count.dataset.url) return;
    setInterval(function () {
      if (document.hidden) return;
      fetch(count.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (data) {
          if (!data || typeof data.readers !== "number") return;
          count.textContent = String(data.readers);
          if (noun) noun.textContent = data.readers === 1 ? "reader" : "readers";
        })
        .catch(function () {}); // the next tick tries again; the live list shows connectivity
    }, READERS_EVERY_MS);
  }

  function start() {
    var form = byId("compose");
    if (form) setUpForm(form);
    var desk = byId("story-desk");
    if (desk) {
      setUpActions();
      setUpDeskWatch(desk);
      setUpLiveList(desk);
      setUpReaderCount();
    }
  }

  start();
})();
