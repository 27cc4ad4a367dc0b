// The story's entries as the reader page shows them: in the server's order (publish time, then
// id), newest or oldest first as the reader chose. Live updates and "load older" both insert here.

import { t } from "./strings.js";

const ORDER_KEY = "liveblog:order";

/** The first element of a fragment of server-rendered HTML. */
export function fromHtml(html) {
  const template = document.createElement("template");
  template.innerHTML = html.trim();
  return template.content.firstElementChild;
}

function isNewer(a, b) {
  // Publish time first, then id: the same order as the server's pages.
  if (a.dataset.published !== b.dataset.published) {
    return a.dataset.published > b.dataset.published;
  }
  return parseInt(a.dataset.entryId, 10) > parseInt(b.dataset.entryId, 10);
}

function readOrder() {
  try {
    return window.localStorage.getItem(ORDER_KEY);
  } catch (error) {
    return null;
  }
}

/** The #entries list and the order the reader chose for it (kept in localStorage). */
export class EntryList {
  constructor(element, newestFirst = readOrder() !== "oldest") {
    this.element = element;
    this.newestFirst = newestFirst;
    this.removed = new Set(); // ids deleted live: a refill must not bring one back from a cache
    // The server renders newest first.
    if (!this.newestFirst) this.reverse();
  }

  /** The entries shown, in the page's order. */
  entries() {
    return this.element.querySelectorAll(":scope > .entry");
  }

  /** Put an entry in its place; `older` entries come from "load older", anything else is new. */
  insert(element, older) {
    const list = this.element;
    const shown = this.entries();
    for (const other of shown) {
      if (this.newestFirst ? isNewer(element, other) : isNewer(other, element)) {
        list.insertBefore(element, other);
        return;
      }
    }
    // Past the last entry shown: the new end when oldest-first; with newest-first that end is
    // the old one, and an entry belongs there only if nothing older is left to load.
    if (older || !this.newestFirst || shown.length === 0 || !document.getElementById("load-older")) {
      list.appendChild(element);
    }
  }

  /** Keep only the `limit` newest entries (a "latest N" teaser). */
  trim(limit) {
    const shown = Array.prototype.slice.call(this.entries());
    const cut = this.newestFirst ? limit : Math.max(0, shown.length - limit);
    (this.newestFirst ? shown.slice(cut) : shown.slice(0, cut)).forEach((element) => {
      element.remove();
    });
  }

  /**
   * Fill a "latest N" teaser back up to `limit` from the entries API once one was deleted, as
   * a fresh load would show it; prepare(element) readies each entry before it is inserted.
   */
  refill(entriesUrl, limit, prepare = (element) => element) {
    const url = new URL(entriesUrl, window.location.href);
    url.searchParams.set("limit", String(limit));
    return fetch(url.toString(), { headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : { entries: [] }))
      .then((page) => {
        page.entries.forEach((entry) => {
          if (this.removed.has(entry.id)) return;
          if (this.element.querySelector("#entry-" + entry.id)) return;
          const empty = this.element.querySelector(".no-entries");
          if (empty) empty.remove();
          this.insert(prepare(fromHtml(entry.html)), true);
        });
        this.trim(limit);
      })
      .catch(() => {});
  }

  /** Say the story has no entries yet, once the last one is gone. */
  showEmptyState() {
    if (this.element.querySelector(".entry") || document.getElementById("no-entries")) return;
    const empty = document.createElement("p");
    empty.className = "no-entries";
    empty.id = "no-entries";
    empty.textContent = t("noEntries", "No updates yet. This page updates itself.", this.element);
    this.element.appendChild(empty);
  }

  /** Switch between newest and oldest first, and remember the choice. */
  toggleOrder() {
    this.newestFirst = !this.newestFirst;
    try {
      window.localStorage.setItem(ORDER_KEY, this.newestFirst ? "newest" : "oldest");
    } catch (error) { /* private mode: the choice lasts for this page */ }
    this.reverse();
  }

  reverse() {
    Array.prototype.slice.call(this.entries()).reverse().forEach((element) => {
      this.element.appendChild(element);
    });
  }
}
