// Keeps a story page live without jolting its reader: events from the live socket (or polling
// where sockets are blocked) applied in place, new entries held while the reader is scrolled
// down or away, the LATEST box and the story's status kept current. The list's order and older
// entries: entry-order.js; times: story-times.js; the socket: live-socket.js.
import { followStory } from "./live-socket.js";
import { EntryList, fromHtml } from "./entry-list.js";
import { followDeepLinks, setUpLoadOlder, setUpOrderToggle } from "./entry-order.js";
import { markUpdated, refreshTimes } from "./story-times.js";
import { setUpPolls, showPoll } from "./polls.js";
import { showKeyFigures } from "./key-figures.js";
import { showKeyEntry } from "./latest.js";
import { fill, t, tn, translated } from "./strings.js";

const POLL_MS = window.liveblogPollMs || 15000;
const TIMES_EVERY_MS = 30000;
// What the page says of its connection, by the live socket's state ("archived": nothing new).
const CONNECTION_TEXT = {
  live: "",
  reconnecting: t("reconnecting", "Reconnecting…"),
  polling: t("polling", "Live updates every few seconds (this network blocks instant updates)."),
  gone: t("gone", "This story is no longer available."),
};

const story = document.getElementById("story");
// A "latest N" embed (?limit=N) keeps its N newest entries.
const limit = story ? parseInt(story.dataset.limit, 10) || 0 : 0;
const announcer = document.getElementById("live-announcer");
const connection = document.getElementById("live-connection");
const baseTitle = document.title;
const held = []; // new entries waiting for the reader to come back to the top
let view = null; // the EntryList
let newUpdates = null; // the "N new updates" button

function announce(text) {
  if (announcer) announcer.textContent = text;
}

function showConnection(state) {
  if (!connection || !(state in CONNECTION_TEXT)) return;
  const text = CONNECTION_TEXT[state];
  connection.hidden = !text;
  connection.textContent = text;
}

// ---- Holding new entries while the reader is away ------------------------------------------

function readerIsAway() {
  if (document.visibilityState === "hidden") return true;
  // Inserting above a reader who has scrolled into the list would push the text they read.
  return view.newestFirst && view.element.getBoundingClientRect().top < 0;
}

function hold(element) {
  held.push(element);
  const count = held.length;
  newUpdates.textContent = translated() ? tn("newUpdates", count)
    : count === 1 ? "1 new update" : count + " new updates";
  newUpdates.hidden = false;
  document.title = "(" + count + ") " + baseTitle;
}

function releaseHeld(scroll) {
  held.splice(0).forEach((element) => {
    if (!document.getElementById(element.id)) view.insert(element, false);
  });
  if (limit) view.trim(limit);
  newUpdates.hidden = true;
  document.title = baseTitle;
  if (scroll) view.element.scrollIntoView({ block: "start" });
}

function setUpHolding() {
  newUpdates = document.createElement("button");
  newUpdates.type = "button";
  newUpdates.id = "new-updates";
  newUpdates.className = "new-updates";
  newUpdates.hidden = true;
  view.element.parentNode.insertBefore(newUpdates, view.element);
  newUpdates.addEventListener("click", () => {
    releaseHeld(true);
    // Move keyboard and screen-reader focus to the newest entry, where reading resumes.
    const first = view.entries()[0];
    if (!first) return;
    first.setAttribute("tabindex", "-1");
    first.focus({ preventScroll: true });
  });
  document.addEventListener("visibilitychange", () => {
    if (!readerIsAway() && held.length) releaseHeld(false);
  });
  window.addEventListener("scroll", () => {
    if (held.length && !readerIsAway() && window.scrollY === 0) releaseHeld(false);
  }, { passive: true });
}

// ---- Applying events -----------------------------------------------------------------------

function entrySeq(element) {
  return parseInt(element.dataset.seq, 10) || 0;
}

function findHeld(id) {
  return held.findIndex((element) => element.id === id);
}

function applyEntry(frame) {
  const element = fromHtml(frame.html);
  const current = document.getElementById(element.id);
  const heldAt = findHeld(element.id);
  if (current) {
    // The page may already show this change (rendered after the page's seq was read).
    if (entrySeq(current) < frame.seq) current.replaceWith(element);
  } else if (heldAt >= 0) {
    held[heldAt] = element;
  } else if (frame.type === "entry.created") {
    element.classList.add("arriving");
    const empty = document.getElementById("no-entries");
    if (empty) empty.remove();
    if (readerIsAway()) hold(element);
    else view.insert(element, false);
    if (limit) view.trim(limit);
    announce(fill(t("newUpdate", "New update: {title}"), { title: frame.entry.headline || frame.entry.label }));
  }
  refreshTimes(element);
}

function removeEntry(id) {
  const gone = document.getElementById("entry-" + id);
  view.removed.add(id);
  if (gone) gone.remove();
  if (gone && limit) {
    view.refill(story.dataset.entriesUrl, limit, (element) => {
      refreshTimes(element);
      return element;
    });
  }
  const heldAt = findHeld("entry-" + id);
  if (heldAt >= 0) {
    held.splice(heldAt, 1);
    if (held.length) hold(held.pop());
    else releaseHeld(false);
  }
  view.showEmptyState();
}

function applyLatest(entry, deleted) {
  const href = "/stories/" + story.dataset.story + "/entries/" + entry.id;
  showKeyEntry(document.getElementById("latest"), entry, deleted, href);
}

function applyStory(data) {
  const status = document.getElementById("story-status");
  const title = document.getElementById("story-title");
  story.dataset.status = data.status;
  if (status) status.textContent = data.status === "ended" ? "ENDED" : "LIVE";
  if (title) title.textContent = data.title;
  if (data.status === "ended") announce(t("storyEnded", "This story has ended."));
}

function apply(frame) {
  if (frame.type === "entry.created" || frame.type === "entry.updated") {
    applyEntry(frame);
    applyLatest(frame.entry, false);
  } else if (frame.type === "entry.deleted") {
    removeEntry(frame.entry.id);
    applyLatest(frame.entry, true);
  } else if (frame.type === "story.updated") {
    applyStory(frame.story);
    showKeyFigures(frame.key_figures_html);
  } else if (frame.type === "poll.updated") {
    showPoll(frame.poll);
  }
  markUpdated(story);
}

// ---- Start ---------------------------------------------------------------------------------

function start(list) {
  view = new EntryList(list);
  setUpHolding();
  setUpOrderToggle(view, { fallbackBefore: newUpdates, onToggle: () => releaseHeld(false) });
  setUpLoadOlder(view, story);
  refreshTimes(list);
  setInterval(() => refreshTimes(list), TIMES_EVERY_MS);
  // Every entry that joins the list (live, released, older, replaced) gets its poll's buttons.
  setUpPolls(list);
  new MutationObserver((changes) => changes.forEach((change) => {
    change.addedNodes.forEach((node) => { if (node.nodeType === 1) setUpPolls(node); });
  })).observe(list, { childList: true });
  followDeepLinks(story.dataset.story);
  followStory(story, {
    apply,
    onState: showConnection,
    pollUrl: "/api/stories/" + story.dataset.story + "/events",
    pollMs: POLL_MS,
  });
}

const entryList = document.getElementById("entries");
if (story && entryList) start(entryList);
