// Pictures for an entry: chosen or dropped files, each with its alt text (required), caption and
// credit, uploaded on "Insert" and added to the entry as the server's figure.
import { byId, csrfToken, errorMessage, postJson } from "./common.js";
import { insertPicture, renderKeptPictures } from "./editor.js";
import { text } from "./text.js";

let rowCount = 0;

/** Open the picture zone: a file input and a drop target. */
export function setUpPictures(state) {
  const zone = byId("pictures");
  const input = byId("picture-file");
  const url = state.form.dataset.uploadUrl;
  if (!zone || !input || !url) return;
  zone.hidden = false;
  input.addEventListener("change", () => {
    addFiles(state, input.files);
    input.value = "";
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => {
    zone.classList.remove("dragging");
  });
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    addFiles(state, event.dataTransfer.files);
  });
  renderKeptPictures(state);
}

function addFiles(state, files) {
  Array.prototype.forEach.call(files, (file) => {
    byId("picture-list").append(pictureRow(state, file));
  });
}

function textInput(row, name, labelText, required) {
  rowCount += 1;
  const id = "picture-" + name + "-" + rowCount;
  const wrap = document.createElement("div");
  wrap.className = "field";
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = labelText;
  const input = document.createElement("input");
  input.type = "text";
  input.id = id;
  input.className = "picture-" + name;
  input.required = required;
  wrap.append(label, input);
  row.append(wrap);
  return input;
}

function button(className, text) {
  const node = document.createElement("button");
  node.type = "button";
  node.className = className;
  node.textContent = text;
  return node;
}

// One chosen file: a thumbnail, its alt text, caption and credit, and an Insert button.
function pictureRow(state, file) {
  const row = document.createElement("li");
  row.className = "picture-row";
  const thumb = document.createElement("img");
  thumb.className = "picture-thumb";
  thumb.alt = "";
  thumb.src = URL.createObjectURL(file);
  const fields = document.createElement("div");
  fields.className = "picture-fields";
  const name = document.createElement("p");
  name.className = "picture-name";
  name.textContent = file.name;
  fields.append(name);
  const alt = textInput(fields, "alt", text("Alt text (required): what the picture shows"), true);
  const caption = textInput(fields, "caption", text("Caption"), false);
  const credit = textInput(fields, "credit", text("Credit"), false);
  const actions = document.createElement("div");
  actions.className = "picture-actions";
  const insert = button("button small primary picture-insert", text("Insert"));
  const remove = button("button small", text("Remove"));
  const status = document.createElement("p");
  status.className = "picture-status";
  status.setAttribute("role", "status");
  actions.append(insert, remove, status);
  fields.append(actions);
  row.append(thumb, fields);
  insert.addEventListener("click", () => {
    uploadPicture(state, { file, alt, caption, credit, insert, status, row, thumb });
  });
  remove.addEventListener("click", () => {
    URL.revokeObjectURL(thumb.src);
    row.remove();
  });
  return row;
}

function uploadPicture(state, parts) {
  if (!parts.alt.value.trim()) {
    parts.status.textContent = text("Describe the picture in its alt text first.");
    parts.status.className = "picture-status error";
    parts.alt.setAttribute("aria-invalid", "true");
    parts.alt.focus();
    return;
  }
  parts.alt.removeAttribute("aria-invalid");
  const body = new FormData();
  body.append("picture", parts.file);
  body.append("alt", parts.alt.value);
  body.append("caption", parts.caption.value);
  body.append("credit", parts.credit.value);
  body.append("csrf_token", csrfToken());
  parts.insert.disabled = true;
  parts.status.textContent = text("Uploading…");
  parts.status.className = "picture-status";
  postJson(state.form.dataset.uploadUrl, body)
    .then((answer) => {
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
    .catch(() => {
      parts.insert.disabled = false;
      parts.status.textContent = text("Upload failed: no connection. Try Insert again.");
      parts.status.className = "picture-status error";
    });
}
