// The preview: the entry rendered by the server as readers will get it, on request, and by itself
// when a line that becomes an embed appears or changes.
import { byId, debounce, errorMessage, postJson } from "./common.js";
import { bodyText, syncTextarea } from "./editor.js";
import { text } from "./text.js";

const PREVIEW_DELAY_MS = 700;
// A line that is only a tweet, YouTube or Vimeo address becomes an embed on the server.
const EMBED_LINE =
  /^\s*https?:\/\/(?:www\.|mobile\.|m\.)?(?:twitter\.com|x\.com|youtube\.com|youtu\.be|vimeo\.com|player\.vimeo\.com)\/\S+\s*$/im;

/** Show the preview button, and preview by itself when an embed line appears or changes. */
export function setUpPreview(state) {
  const button = byId("preview-button");
  const url = state.form.dataset.previewUrl;
  if (!button || !url || !byId("preview-body")) return;
  button.hidden = false;
  button.addEventListener("click", () => {
    preview(state);
  });
  state.lastPreviewed = "";
  const autoPreview = debounce(() => {
    const lines = bodyText(state).split("\n").filter((line) => EMBED_LINE.test(line)).join("\n");
    // Only when an embed line appears or changes, so typing does not flood the server.
    if (lines && lines !== state.lastPreviewed) {
      state.lastPreviewed = lines;
      preview(state);
    }
  }, PREVIEW_DELAY_MS);
  if (state.quill) state.quill.on("text-change", autoPreview);
  else state.textarea.addEventListener("input", autoPreview);
}

function preview(state) {
  syncTextarea(state);
  const box = byId("preview");
  const target = byId("preview-body");
  postJson(state.form.dataset.previewUrl, new FormData(state.form))
    .then((answer) => {
      box.hidden = false;
      if (answer.ok && answer.data.html !== undefined) {
        // Server-rendered from cleaned HTML: the same markup readers get.
        target.innerHTML = answer.data.html;
      } else {
        const message = document.createElement("p");
        message.className = "compose-status error";
        message.textContent = errorMessage(answer);
        target.replaceChildren(message);
      }
    })
    .catch(() => {
      box.hidden = false;
      target.textContent = text("The preview needs a connection.");
    });
}
