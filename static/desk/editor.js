// The rich editor: Quill replaces the body's textarea, which stays in the form (hidden) and is
// what is sent. Pictures are kept beside the editor (Quill has no figure) and go after the text.
import { byId, fromHtml } from "./common.js";
import { nameEditorParts } from "./editor-words.js";
import * as postCards from "./post-card.js";
import { text } from "./text.js";

// Text from the API may be plain paragraphs; the server reads blank lines as breaks, so must we.
const BLOCK_TAG = /<(p|div|ul|ol|li|blockquote|h[1-6]|figure|pre|table|hr)\b/i;

/** Put Quill in place of the textarea; without Quill the plain textarea keeps working. */
export function startEditor(state) {
  if (typeof window.Quill !== "function") return;
  const textarea = state.textarea;
  const holder = document.createElement("div");
  holder.className = "editor";
  holder.id = "editor";
  textarea.insertAdjacentElement("afterend", holder);
  let quill;
  try {
    quill = new window.Quill(holder, {
      theme: "snow",
      placeholder: text("Write the update…"),
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
  nameEditorParts(quill);
  const label = document.querySelector('label[for="body"]');
  if (label) label.id = "body-label";
  quill.root.setAttribute("aria-labelledby", "body-label");
  quill.root.setAttribute("aria-multiline", "true");
  quill.root.setAttribute("role", "textbox");
  if (textarea.getAttribute("aria-describedby")) {
    quill.root.setAttribute("aria-describedby", textarea.getAttribute("aria-describedby"));
  }
  setBody(state, textarea.value);
  textarea.hidden = true; // hidden, not disabled: it is still submitted
  quill.container.addEventListener("paste", (event) => {
    pasteEmbedCode(quill, event);
  }, true);
  quill.on("text-change", () => {
    syncTextarea(state);
  });
}

// X's "embed post" code pasted into the editor would arrive as literal text: put the post's
// address on its own line instead, and its text and author in the post's fields.
function pasteEmbedCode(quill, event) {
  const text = event.clipboardData ? event.clipboardData.getData("text/plain") : "";
  if (!/<blockquote[^>]*twitter-tweet/i.test(text)) return;
  const match = text.match(/https:\/\/(?:twitter|x)\.com\/\w{1,15}\/status\/\d+/);
  if (!match) return;
  event.preventDefault();
  event.stopPropagation();
  postCards.rememberPasted(text); // its text and author fill the post's fields
  const range = quill.getSelection(true);
  quill.insertText(range.index, "\n" + match[0] + "\n", "user");
}

function asParagraphs(source) {
  if (!source.trim() || BLOCK_TAG.test(source)) return source;
  return source.trim().split(/\n[ \t]*\n/).map((chunk) => {
    return "<p>" + chunk.trim().replace(/\n/g, "<br>") + "</p>";
  }).join("");
}

function keptPicture(markup, img) {
  return {
    markup: markup,
    src: img ? img.getAttribute("src") : "",
    alt: img ? img.getAttribute("alt") : "",
  };
}

/** Load HTML into the editor, keeping pictures aside: Quill has no figure and would drop them. */
export function setBody(state, html) {
  if (!state.quill) {
    state.textarea.value = html;
    return;
  }
  const template = document.createElement("template");
  template.innerHTML = asParagraphs(html || "");
  postCards.extract(template.content); // a post's quote: its address + fields
  state.pictures = [];
  template.content.querySelectorAll("figure").forEach((figure) => {
    state.pictures.push(keptPicture(figure.outerHTML, figure.querySelector("img")));
    figure.remove();
  });
  state.quill.setContents([], "silent");
  state.quill.clipboard.dangerouslyPasteHTML(0, template.innerHTML, "silent");
  renderKeptPictures(state);
  syncTextarea(state);
}

/** The editor's text as HTML, or "" when it holds no text. */
export function editorHtml(state) {
  if (!state.quill) return state.textarea.value;
  if (!state.quill.getText().trim()) return "";
  // Quill 2.0.3 writes every space as &nbsp;, which stops lines from wrapping for readers.
  return state.quill.getSemanticHTML().replace(/&nbsp;/g, " ");
}

/** The body as plain text, to look for lines that become embeds. */
export function bodyText(state) {
  return state.quill ? state.quill.getText() : state.textarea.value;
}

/** Write what will be sent into the textarea: the editor's HTML, then the kept pictures. */
export function syncTextarea(state) {
  if (!state.quill) return;
  const html = postCards.apply(editorHtml(state), state.form);
  const pictures = state.pictures.map((picture) => picture.markup).join("\n");
  state.textarea.value = pictures ? (html ? html + "\n" : "") + pictures : html;
}

/** Add an uploaded picture's figure to the entry. */
export function insertPicture(state, markup) {
  if (!state.quill) {
    // Plain textarea: it holds HTML, so the figure goes straight in at the end.
    state.textarea.value = state.textarea.value.replace(/\s*$/, "\n") + markup;
    state.saveSoon();
    return;
  }
  state.pictures.push(keptPicture(markup, fromHtml(markup).querySelector("img")));
  renderKeptPictures(state);
  syncTextarea(state);
  state.saveSoon();
}

/** Show the pictures already in the entry under the editor, each with a "Take out" button. */
export function renderKeptPictures(state) {
  const zone = byId("pictures");
  if (!zone || !state.quill) return;
  let list = byId("kept-pictures");
  if (!list) {
    list = document.createElement("ul");
    list.id = "kept-pictures";
    list.className = "kept-pictures";
    list.setAttribute("aria-label", text("Pictures in this entry (shown after the text)"));
    zone.insertBefore(list, zone.querySelector("input[type=file]"));
  }
  list.replaceChildren();
  state.pictures.forEach((picture, index) => {
    const item = document.createElement("li");
    item.className = "kept-picture";
    const img = document.createElement("img");
    if (/^(\/|https?:)/.test(picture.src || "")) img.src = picture.src;
    img.alt = picture.alt || "";
    const caption = document.createElement("span");
    caption.textContent = picture.alt || text("(no alt text)");
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "button small";
    remove.textContent = text("Take out");
    remove.setAttribute("aria-label", text("Take out picture: {alt}", { alt: picture.alt || "" }));
    remove.addEventListener("click", () => {
      state.pictures.splice(index, 1);
      renderKeptPictures(state);
      syncTextarea(state);
      if (state.saveSoon) state.saveSoon();
    });
    item.append(img, caption, remove);
    list.append(item);
  });
  list.hidden = state.pictures.length === 0;
}
