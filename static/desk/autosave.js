// Unsent text survives a closed tab, a crash or a reload: the form is kept in localStorage as it
// is typed, offered back on the next visit, and cleared once the server has it.
import { debounce, fieldValue, setFieldValue } from "./common.js";
import { editorHtml, renderKeptPictures, setBody, syncTextarea } from "./editor.js";
import { text } from "./text.js";

const AUTOSAVE_DELAY_MS = 400;

/** Where this form's unsent text is kept: one key per story's composer, one per entry edited. */
export function storageKey(editPage) {
  // /admin/stories/<slug>/entries/<id>/edit or /admin/stories/<slug>
  const parts = window.location.pathname.split("/");
  const slug = parts[3] || "unknown";
  let key = "liveblog:unsent:" + slug;
  if (editPage && parts[5]) key += ":entry:" + parts[5];
  return key;
}

/** What the form holds now, as autosave keeps it. */
export function snapshot(state) {
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
  const now = snapshot(state);
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

/** Forget the kept text: the server has it. */
export function clearDraft(state) {
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

function showRestoreNote(state) {
  const note = document.createElement("p");
  note.className = "restore-note";
  note.id = "restore-note";
  note.setAttribute("role", "status");
  note.append(text("Restored your unsent text.") + " ");
  const discard = document.createElement("button");
  discard.type = "button";
  discard.className = "link-button";
  discard.id = "discard-restored";
  discard.textContent = text("Discard it");
  discard.addEventListener("click", () => {
    applyDraft(state, state.initial);
    clearDraft(state);
    note.remove();
  });
  note.append(discard);
  state.form.prepend(note);
}

/** Keep the form's text as it is typed, and offer back what an earlier visit left unsent. */
export function setUpAutosave(state) {
  const save = debounce(() => {
    saveDraft(state);
  }, AUTOSAVE_DELAY_MS);
  state.saveSoon = save;
  state.form.addEventListener("input", save);
  state.form.addEventListener("change", save);
  if (state.quill) state.quill.on("text-change", save);
  // A tab closed within the debounce still keeps the last keystrokes.
  window.addEventListener("pagehide", () => {
    if (!state.sent) saveDraft(state);
  });
  const draft = readDraft(state);
  if (draft && !sameText(draft, state.initial)) {
    applyDraft(state, draft);
    showRestoreNote(state);
  }
}
