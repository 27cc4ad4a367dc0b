// Keeps a story's entries live on another site's page: the list /stories/<slug>/fragment serves,
// included by the host's server (SSI, ESI, a fetch) and upgraded in place by static/embed.js.
// The story page's own parts do the work: live-socket.js (seq order, resume, polling),
// entry-list.js (the order), latest.js (the LATEST box), story-times.js and polls.js (results
// only: votes are the page's).
import { followStory } from "./live-socket.js";
import { EntryList, fromHtml } from "./entry-list.js";
import { refreshTimes } from "./story-times.js";
import { showPoll } from "./polls.js";
import { showKeyEntry } from "./latest.js";

const TIMES_EVERY_MS = 30000;
const POLL_MS = 15000;
const LINKS = ["href", "src", "poster"];

// Frames carry the page's markup, whose paths name our host; on the host page they would name
// theirs, so each is made absolute against our origin (as the server does for the fragment).
function absolute(element, origin) {
  [element, ...element.querySelectorAll("*")].forEach((node) => {
    LINKS.forEach((name) => {
      const value = node.getAttribute(name);
      if (value && !value.startsWith("#")) node.setAttribute(name, new URL(value, origin).href);
    });
    const srcset = node.getAttribute("srcset");
    if (srcset) {
      node.setAttribute("srcset", srcset.split(",").map((candidate) => {
        const [address, ...rest] = candidate.trim().split(/\s+/);
        return [new URL(address, origin).href, ...rest].join(" ");
      }).join(", "));
    }
  });
  return element;
}

/** Upgrade one fragment root (div[data-liveblog-fragment]) to live updates; once per root. */
export function upgrade(root) {
  const list = root.querySelector(".entries");
  if (!list || !root.dataset.liveUrl || root.dataset.liveblogLive) return;
  root.dataset.liveblogLive = "true";
  const origin = new URL(root.dataset.eventsUrl).origin;
  const limit = parseInt(root.dataset.limit, 10) || 0;
  const view = new EntryList(list, true); // the host page has no order toggle: newest first

  function prepare(element) {
    refreshTimes(element);
    return absolute(element, origin);
  }

  function entryFrom(html) {
    return absolute(fromHtml(html), origin);
  }

  function applyLatest(entry, deleted) {
    const href = origin + "/stories/" + root.dataset.story + "/entries/" + entry.id;
    showKeyEntry(root.querySelector(".latest"), entry, deleted, href);
  }

  function apply(frame) {
    if (frame.type === "entry.created" || frame.type === "entry.updated") {
      const element = entryFrom(frame.html);
      const current = list.querySelector("#" + element.id);
      // The list may already show this change (rendered after the fragment's seq was read).
      if (current) {
        if ((parseInt(current.dataset.seq, 10) || 0) < frame.seq) current.replaceWith(element);
      } else if (frame.type === "entry.created") {
        const empty = list.querySelector(".no-entries");
        if (empty) empty.remove();
        view.insert(element, false);
        if (limit) view.trim(limit);
      }
      refreshTimes(element);
      applyLatest(frame.entry, false);
    } else if (frame.type === "entry.deleted") {
      applyLatest(frame.entry, true);
      view.removed.add(frame.entry.id);
      const gone = list.querySelector("#entry-" + frame.entry.id);
      if (gone) {
        gone.remove();
        // A teaser that lost an entry shows the next older one again.
        if (limit) view.refill(root.dataset.entriesUrl, limit, prepare);
      }
      view.showEmptyState();
    } else if (frame.type === "poll.updated") {
      showPoll(frame.poll);
    } else if (frame.type === "story.updated" && frame.story) {
      root.dataset.status = frame.story.status;
    }
  }

  refreshTimes(list);
  setInterval(() => refreshTimes(list), TIMES_EVERY_MS);
  followStory(root, { apply, pollUrl: root.dataset.eventsUrl, pollMs: POLL_MS });
}

// Loaded by embed.js as a module script: upgrade every fragment this server wrote (another
// liveblog's fragment is for its own script).
const HOME = new URL(import.meta.url).origin;
document.querySelectorAll("[data-liveblog-fragment][data-events-url]").forEach((root) => {
  let origin = null;
  try {
    origin = new URL(root.dataset.eventsUrl).origin;
  } catch (error) {
    return;
  }
  if (origin === HOME) upgrade(root);
});
