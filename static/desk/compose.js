// The compose and edit form: one state object that the editor, autosave, sending, preview and
// pictures share, and the keyboard (Ctrl/Cmd+Enter publishes; Enter in a one-line field does not).
import { byId } from "./common.js";
import { setUpAutosave, snapshot, storageKey } from "./autosave.js";
import { setUpLoadText } from "./edit-page.js";
import { startEditor } from "./editor.js";
import { setUpTimeChoices } from "./field-errors.js";
import { setUpPictures } from "./pictures.js";
import { setUpPreview } from "./preview.js";
import { setUpSubmit } from "./send.js";

function setUpShortcuts(state) {
  // Capture phase, so the editor never turns the shortcut into a new line.
  state.form.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    if (event.ctrlKey || event.metaKey) {
      event.preventDefault();
      event.stopPropagation();
      const publish = byId("publish");
      if (publish && !publish.disabled) publish.click();
      return;
    }
    // Enter in the headline would otherwise publish half an entry by implicit submission.
    const target = event.target;
    if (target.tagName === "INPUT" && target.type !== "submit" && target.type !== "checkbox") {
      event.preventDefault();
    }
  }, true);
}

/** Give the form every feature of the composer. */
export function setUpForm(form) {
  const textarea = byId("body");
  const editPage = byId("edit-entry");
  const state = {
    form: form,
    textarea: textarea,
    status: byId("compose-status"),
    editPage: editPage,
    quill: null,
    pictures: [], // {markup, src, alt}: kept beside the editor because Quill drops <figure>
    busy: false,
    pending: null, // the action waiting for the connection to return
    retryTimer: null,
    retries: 0,
    storageKey: storageKey(editPage),
    initial: null,
  };
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
