// The story desk's actions (approve, publish, pin, delete…) sent by fetch: the page stays put,
// the answer is flashed, and the lists that may have changed are brought up to date.
import { csrfToken, errorMessage, flash, postJson } from "./common.js";
import { removeDeskEntry } from "./live-list.js";
import { refreshSideListsSoon } from "./side-lists.js";
import { text } from "./text.js";

function enable(controls, enabled) {
  controls.forEach((button) => {
    button.disabled = !enabled;
  });
}

function runAction(source, url, body, controls) {
  const wrapper = source.closest(".desk-entry");
  enable(controls, false);
  postJson(url, body)
    .then((answer) => {
      enable(controls, true);
      if (!answer.ok) {
        flash(errorMessage(answer), "error");
        return;
      }
      flash(answer.data.message || text("Done."), "success");
      refreshSideListsSoon(); // held lists and the LATEST box order may have changed
      // Published entries change through the live stream; a delete can go at once.
      if (wrapper && /\/delete$/.test(url)) removeDeskEntry(wrapper.id.replace("desk-entry-", ""));
    })
    .catch(() => {
      enable(controls, true);
      flash(text("No connection: nothing was changed. Try again."), "error");
    });
}

/** Send the forms marked js-action, and delete links after a confirmation, by fetch. */
export function setUpActions() {
  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form.js-action");
    if (!form) return;
    event.preventDefault();
    runAction(form, form.action, new FormData(form), form.querySelectorAll("button"));
  });
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a.js-delete");
    if (!link) return;
    event.preventDefault();
    if (!window.confirm(text("Delete this entry? Readers will see it disappear."))) return;
    const body = new FormData();
    body.append("csrf_token", csrfToken());
    runAction(link, link.href, body, []);
  });
}
