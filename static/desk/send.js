// Sending the composer without losing text or posting twice: one request at a time, the form's
// idempotency key kept across retries, and offline sends retried with backoff until they land.
import { byId, errorMessage, postJson, setFieldValue, showStatus } from "./common.js";
import { clearDraft, snapshot } from "./autosave.js";
import { syncTextarea } from "./editor.js";
import { setVersion, showConflict } from "./edit-page.js";
import { clearFieldErrors, removeTimeChoices, showFieldErrors, showTimeChoices } from "./field-errors.js";
import * as postCards from "./post-card.js";
import { refreshSideListsSoon } from "./side-lists.js";
import { text } from "./text.js";

const MAX_RETRY_MS = 30000;

function setBusy(state, busy) {
  state.busy = busy;
  state.form.setAttribute("aria-busy", busy ? "true" : "false");
  state.form.querySelectorAll("button[type=submit], #preview-button").forEach((button) => {
    button.disabled = busy;
  });
}

/** Send the form by fetch on submit, and again when the connection returns. */
export function setUpSubmit(state) {
  state.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const submitter = event.submitter;
    const action = submitter && submitter.name === "action" ? submitter.value : null;
    send(state, action);
  });
  window.addEventListener("online", () => {
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
  const body = new FormData(state.form);
  if (action) body.set("action", action);
  setBusy(state, true);
  showStatus(state, text("Sending…"), "");
  // getAttribute: form.action would be the buttons named "action".
  postJson(state.form.getAttribute("action") || window.location.href, body).then(
    (answer) => {
      setBusy(state, false);
      state.pending = null;
      state.retries = 0;
      if (answer.ok) onSent(state, answer.data);
      else onRefused(state, answer);
    },
    () => {
      // No answer at all: keep the text and the SAME key, so a retry can never post twice.
      setBusy(state, false);
      showOffline(state);
    }
  );
}

function showOffline(state) {
  showStatus(state, text("You are offline. Your text is kept and will be sent when the connection returns."),
    "offline");
  scheduleRetry(state);
}

function scheduleRetry(state) {
  // Capped exponential backoff with jitter; the online event retries at once.
  clearTimeout(state.retryTimer);
  state.retries += 1;
  const ceiling = Math.min(MAX_RETRY_MS, 1000 * 2 ** state.retries);
  const delay = ceiling / 2 + Math.random() * (ceiling / 2);
  state.retryTimer = setTimeout(() => {
    if (navigator.onLine === false) scheduleRetry(state);
    else retryNow(state);
  }, delay);
}

function retryNow(state) {
  if (!state.pending || state.busy) return;
  send(state, state.pending.action);
}

function onSent(state, data) {
  state.sent = true;
  clearDraft(state);
  const message = data.message || text("Saved.");
  if (state.editPage) {
    // Stay on the page: the version moves on so the next save is not taken for a conflict.
    if (data.entry) setVersion(String(data.entry.version));
    const conflict = byId("conflict-js");
    if (conflict) conflict.remove();
    state.initial = snapshot(state);
    state.sent = false;
    showStatus(state, text("{message} Readers see the change now.", { message: message }), "ok");
    return;
  }
  const key = state.form.querySelector('[name="idempotency_key"]');
  if (key && data.next_key) key.value = data.next_key;
  resetCompose(state);
  showStatus(state, message, "ok");
  state.sent = false;
  if (data.entry && (data.entry.status !== "published" || data.entry.pinned)) {
    refreshSideListsSoon();
  }
}

function resetCompose(state) {
  ["headline", "label", "scheduled_for"].forEach((name) => {
    setFieldValue(name, "");
  });
  setFieldValue("pinned", false);
  removeTimeChoices();
  state.pictures = [];
  postCards.clear();
  const list = byId("picture-list");
  if (list) list.replaceChildren();
  if (state.quill) {
    state.quill.setContents([], "silent");
    syncTextarea(state);
  } else if (state.textarea) {
    state.textarea.value = "";
  }
  const preview = byId("preview");
  if (preview) preview.hidden = true;
  const note = byId("restore-note");
  if (note) note.remove();
  state.initial = snapshot(state);
  state.lastPreviewed = "";
}

function onRefused(state, answer) {
  const error = (answer.data && answer.data.error) || {};
  if ((answer.status === 409 || answer.status === 412) && error.current) {
    showConflict(state, error);
    return;
  }
  showFieldErrors(state, error.fields || {});
  if (error.choices) showTimeChoices(state, error.choices);
  showStatus(state, errorMessage(answer), "error");
}
