// The edit page's version: conflict.js offers the choices after a refused stale save, and the
// version field keeps the version this text was based on, so saving again without choosing is
// refused again instead of replacing the colleague's text.
import { setFieldValue, showStatus } from "./common.js";
import { setBody } from "./editor.js";
import { text } from "./text.js";

/** Move the form (and the page's heading) on to this version. */
export function setVersion(version) {
  setFieldValue("version", version);
  const heading = document.getElementById("entry-version");
  if (heading) heading.textContent = version;
}

/** Hand a refused stale save (409/412, with the current text) to conflict.js. */
export function showConflict(state, error) {
  state.form.dispatchEvent(new CustomEvent("desk:conflict", { detail: error, bubbles: true }));
  showStatus(state, error.message || text("Someone else saved this entry first."), "error");
}

/** {headline, body, version}: "Keep theirs" and "Edit a merge" put that text in the editor. */
export function setUpLoadText(state) {
  state.form.addEventListener("desk:load-text", (event) => {
    const text = event.detail || {};
    if (text.headline !== undefined) setFieldValue("headline", text.headline || "");
    if (text.body !== undefined) setBody(state, text.body || "");
    if (text.version !== undefined) setVersion(String(text.version));
    if (state.saveSoon) state.saveSoon();
  });
}
