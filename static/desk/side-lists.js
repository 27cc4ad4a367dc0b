// The story desk's side lists: drafts, scheduled and pending entries and the LATEST box order are
// not in the live stream, so the desk is fetched again and just those panels are swapped in (the
// published list stays as it is).
import { byId, debounce } from "./common.js";

const PANELS = ["key-order", "held-pending", "held-scheduled", "held-draft"];

function sidePanel(doc, id) {
  const element = doc.getElementById(id);
  return element && id === "key-order" ? element.closest("section") : element;
}

/** Fetch the desk again and swap in its side lists (reload the page if that fails). */
export function refreshSideLists() {
  fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
    .then((response) => {
      return response.ok ? response.text() : Promise.reject(new Error(String(response.status)));
    })
    .then((html) => {
      const fresh = new DOMParser().parseFromString(html, "text/html");
      const lists = document.querySelector(".desk-lists");
      const published = byId("published-title");
      if (!lists || !published) return;
      let before = published.closest("section");
      PANELS.slice().reverse().forEach((id) => {
        const old = sidePanel(document, id);
        const next = sidePanel(fresh, id);
        if (old && next) old.replaceWith(document.adoptNode(next));
        else if (old) old.remove();
        else if (next) lists.insertBefore(document.adoptNode(next), before);
        if (next) before = next;
      });
    })
    .catch(() => {
      window.location.reload();
    });
}

/** The same, once a burst of changes is over. */
export const refreshSideListsSoon = debounce(refreshSideLists, 300);

/** Take an entry out of the held lists (approved, or published by the scheduler). */
export function removeHeld(id) {
  const item = byId("held-" + id);
  if (!item || !item.classList.contains("held-entry")) return;
  const section = item.closest("section.held");
  item.remove();
  if (!section) return;
  const left = section.querySelectorAll(".held-entry").length;
  const heading = section.querySelector("h2");
  if (left === 0) section.remove();
  else if (heading) heading.textContent = heading.textContent.replace(/\(\d+\)/, "(" + left + ")");
}
