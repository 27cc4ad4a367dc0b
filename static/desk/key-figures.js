// The key-figures box's editor on the story desk: shows the fields of the chosen kind, and saves
// the box or a point without a reload. The server adds a point to the score as it is then, so
// two editors' clicks both count; a whole-box save based on an older box is refused (409) and
// the form then shows what the box holds now, for the editor to change again.
import { byId, errorMessage, postJson } from "./common.js";
import { text } from "./text.js";

function showKind(form) {
  const checked = form.querySelector('input[name="kind"]:checked');
  const kind = checked ? checked.value : "none";
  form.querySelectorAll(".kf-part").forEach((part) => {
    part.hidden = part.dataset.kind !== kind;
  });
}

function say(text, kind) {
  const status = byId("kf-status");
  if (!status) return;
  status.textContent = text;
  status.className = "compose-status" + (kind ? " " + kind : "");
}

function setValue(id, value) {
  const field = byId(id);
  if (field) field.value = value === null || value === undefined ? "" : String(value);
}

// The form and the quick buttons show the box as the server now holds it.
function showBox(form, box, version) {
  setValue("kf-based-on", version);
  if (!box) return;
  const kind = form.querySelector('input[name="kind"][value="' + box.kind + '"]');
  if (kind) kind.checked = true;
  setValue("kf-box-title", box.title);
  if (box.kind === "scoreboard") {
    ["home", "away"].forEach((side) => {
      setValue("kf-" + side + "-name", box[side].name);
      setValue("kf-" + side + "-score", box[side].score);
      const score = byId("kf-score-" + side);
      if (score) score.textContent = String(box[side].score);
    });
    setValue("kf-period", box.period);
  } else {
    for (let row = 0; byId("kf-label-" + row); row += 1) {
      const item = box.items[row] || {};
      setValue("kf-label-" + row, item.label);
      setValue("kf-value-" + row, item.value);
    }
  }
  showKind(form);
}

function send(form, target, button) {
  if (button) button.disabled = true;
  return postJson(target.action, new FormData(target))
    .then((answer) => {
      if (answer.ok) {
        showBox(form, answer.data.key_figures, answer.data.version);
        say(answer.data.message, "ok");
        return answer.data;
      }
      const current = answer.data && answer.data.error && answer.data.error.current;
      if (current) showBox(form, current.key_figures, current.version);
      say(errorMessage(answer), "error");
      return null;
    }, () => say(text("The server did not answer; nothing was saved. Try again."), "error"))
    .finally(() => {
      if (button) button.disabled = false;
    });
}

function setUp(editor) {
  const form = byId("kf-form");
  if (!form) return;
  form.addEventListener("change", (event) => {
    if (event.target.name === "kind") showKind(form);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(form, form, form.querySelector('button[type="submit"]')).then((data) => {
      // A new scoreboard (or none) changes the quick buttons: the page brings them.
      const quick = byId("kf-quick");
      const wantsQuick = data && data.key_figures && data.key_figures.kind === "scoreboard";
      if (data && Boolean(quick) !== Boolean(wantsQuick)) window.location.reload();
    });
  });
  editor.querySelectorAll("form.kf-point").forEach((point) => {
    point.addEventListener("submit", (event) => {
      event.preventDefault();
      send(form, point, point.querySelector("button"));
    });
  });
}

const editor = byId("key-figures-editor");
if (editor) setUp(editor);
