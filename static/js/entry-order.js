// The reader's ways through the list: newest or oldest first, older entries loaded in place, and
// deep links to entries older than the page.
import { fromHtml } from "./entry-list.js";
import { refreshTimes } from "./story-times.js";
import { t } from "./strings.js";

/** Offer the order toggle; onToggle runs first (new entries held back go in before the flip). */
export function setUpOrderToggle(view, { fallbackBefore, onToggle }) {
  const list = view.element;
  const button = document.createElement("button");
  button.type = "button";
  button.id = "order-toggle";
  button.className = "order-toggle";
  // Into the room the page keeps for it, so the entries do not move down once it appears.
  const tools = document.getElementById("entries-tools");
  if (tools) tools.appendChild(button);
  else list.parentNode.insertBefore(button, fallbackBefore);

  function showOrder() {
    button.textContent = view.newestFirst ? t("showOldest", "Show oldest first") : t("showNewest", "Show newest first");
    button.setAttribute("aria-pressed", view.newestFirst ? "false" : "true");
    list.setAttribute("aria-label", view.newestFirst ? t("newestFirst", "Updates, newest first")
      : t("oldestFirst", "Updates, oldest first"));
    const older = document.getElementById("load-older");
    // "Load older" sits at the old end of the list.
    if (older) list.parentNode.insertBefore(older.parentElement, view.newestFirst ? list.nextSibling : list);
  }

  button.addEventListener("click", () => {
    onToggle();
    view.toggleOrder();
    showOrder();
  });
  showOrder();
}

function fetchOlder(view, story, link) {
  if (link.getAttribute("aria-busy") === "true") return Promise.resolve(false);
  const url = new URL(story.dataset.entriesUrl, window.location.href);
  url.searchParams.set("before", link.dataset.before);
  link.setAttribute("aria-busy", "true");
  return fetch(url.toString(), { headers: { Accept: "application/json" } })
    .then((response) => {
      if (!response.ok) throw new Error(response.statusText);
      return response.json();
    })
    .then((page) => {
      page.entries.forEach((entry) => {
        if (document.getElementById("entry-" + entry.id)) return;
        const element = fromHtml(entry.html);
        view.insert(element, true);
        refreshTimes(element);
      });
      const last = page.entries[page.entries.length - 1];
      link.removeAttribute("aria-busy");
      if (page.next && last) {
        link.dataset.before = String(last.id);
        link.href = "?before=" + last.id;
        return true;
      }
      link.parentElement.remove();
      return false;
    })
    .catch(() => {
      link.removeAttribute("aria-busy");
      return false;
    });
}

/** "Load older updates" fetches the next page into the list instead of leaving the page. */
export function setUpLoadOlder(view, story) {
  document.addEventListener("click", (event) => {
    const link = event.target.closest("#load-older");
    if (!link) return;
    event.preventDefault();
    fetchOlder(view, story, link);
  });
}

/** A link to an entry older than this page opens that entry's own address instead. */
export function followDeepLinks(slug) {
  function openDeepLink() {
    const match = /^#entry-(\d+)$/.exec(window.location.hash);
    if (!match || document.getElementById("entry-" + match[1])) return;
    // An entry older than this page: its own address renders the page down to it.
    window.location.replace("/stories/" + slug + "/entries/" + match[1]);
  }
  openDeepLink();
  window.addEventListener("hashchange", openDeepLink);
}
