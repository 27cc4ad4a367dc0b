// The questions queue: what watch.js hears (the ids of the waiting questions) is merged into the
// list without a reload. Questions already shown stay as they are, so an answer being typed is
// never lost; new ones are added in order and decided ones leave.
import { byId, fromHtml } from "./common.js";

function merge(list, fresh) {
  const shown = new Map();
  for (const item of list.querySelectorAll("li[data-question-id]")) {
    shown.set(item.dataset.questionId, item);
  }
  const wanted = new Set();
  let previous = null;
  for (const item of fresh.querySelectorAll("li[data-question-id]")) {
    const id = item.dataset.questionId;
    wanted.add(id);
    const current = shown.get(id) || item;
    if (previous) previous.after(current);
    else list.prepend(current);
    previous = current;
  }
  for (const [id, item] of shown) {
    if (!wanted.has(id)) item.remove();
  }
  const count = wanted.size;
  const counter = byId("question-count");
  if (counter) counter.textContent = String(count);
  const empty = byId("question-empty");
  if (empty) empty.hidden = count > 0;
}

function setUp(desk) {
  const list = byId("question-queue");
  if (!list) return;
  let asking = false;
  let again = false;
  function refresh() {
    // One fetch at a time; a change heard meanwhile is fetched once this one is done.
    if (asking) {
      again = true;
      return;
    }
    asking = true;
    fetch(desk.dataset.queueUrl, { credentials: "same-origin", headers: { Accept: "text/html" } })
      // A login page (an ended session) is no queue: the list stays as it is.
      .then((response) => (response.ok && !response.redirected ? response.text() : null))
      .then((html) => {
        const fresh = html ? fromHtml(html) : null;
        if (fresh && fresh.id === "question-queue") merge(list, fresh);
      })
      .catch(() => {}) // the next watch answer tries again
      .finally(() => {
        asking = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }
  document.addEventListener("desk:watch", refresh);
}

const desk = byId("questions-desk");
if (desk) setUp(desk);
