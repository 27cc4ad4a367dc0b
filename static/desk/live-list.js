// The story desk's published list, kept live by the live socket the reader page uses: each entry
// as readers see it, with the desk's controls, newest first.
import { followStory } from "../js/live-socket.js";
import { byId, fromHtml } from "./common.js";
import { refreshSideListsSoon, removeHeld } from "./side-lists.js";
import { text } from "./text.js";

// A draft (4404) or archived (4410) story has no live stream: what to tell the desk, which stops.
function liveStopped(state) {
  if (state === "gone") {
    return text("Readers cannot see this story (it is a draft), so this list is not updated live. " +
      "Reload the page once it goes live.");
  }
  if (state === "archived") {
    return text("This story is archived: readers get a static page, and this list is not updated live.");
  }
  return "";
}

// The status badge's word (the stored status is English).
const STATUS_WORDS = { draft: () => text("draft"), live: () => text("live"), ended: () => text("ended") };

function controlsFor(entry) {
  const template = byId(entry.pinned ? "controls-template-pinned" : "controls-template");
  if (!template) return null;
  return fromHtml(template.innerHTML.replace(/__ID__/g, String(entry.id)));
}

function deskEntry(frame) {
  const wrapper = document.createElement("div");
  wrapper.className = "desk-entry";
  wrapper.id = "desk-entry-" + frame.entry.id;
  wrapper.dataset.seq = String(frame.seq);
  wrapper.dataset.published = frame.entry.published_at || "";
  wrapper.append(fromHtml(frame.html));
  const controls = controlsFor(frame.entry);
  if (controls) wrapper.append(controls);
  return wrapper;
}

function updateCount() {
  const count = byId("published-count");
  const list = byId("entries");
  if (count && list) count.textContent = String(list.querySelectorAll(":scope > .desk-entry").length);
}

/** Take a published entry off the list (deleted). */
export function removeDeskEntry(id) {
  const gone = byId("desk-entry-" + id);
  if (gone) gone.remove();
  updateCount();
}

function insertDeskEntry(list, wrapper) {
  // Newest first by publish time; a fresh entry almost always goes to the top.
  const published = wrapper.dataset.published;
  for (const child of list.querySelectorAll(":scope > .desk-entry")) {
    const article = child.querySelector(".entry");
    const theirs = child.dataset.published || (article && article.dataset.published) || "";
    if (theirs <= published) {
      list.insertBefore(wrapper, child);
      return;
    }
  }
  list.appendChild(wrapper);
}

function applyFrame(frame) {
  const list = byId("entries");
  if (frame.type === "entry.created" || frame.type === "entry.updated") {
    removeHeld(frame.entry.id); // approved, or published by the scheduler
    const wrapper = deskEntry(frame);
    const current = byId(wrapper.id);
    if (frame.entry.pinned || (current && current.querySelector(".entry--key"))) {
      refreshSideListsSoon(); // a key entry came, went or changed: the LATEST order panel too
    }
    if (current) current.replaceWith(wrapper);
    else if (frame.type === "entry.created") {
      const empty = byId("no-entries");
      if (empty) empty.remove();
      insertDeskEntry(list, wrapper);
    }
  } else if (frame.type === "entry.deleted") {
    const gone = byId("desk-entry-" + frame.entry.id);
    if (gone && gone.querySelector(".entry--key")) refreshSideListsSoon();
    removeDeskEntry(frame.entry.id);
  } else if (frame.type === "story.updated") {
    const status = byId("desk-status");
    if (status) {
      status.textContent = STATUS_WORDS[frame.story.status] ? STATUS_WORDS[frame.story.status]() : frame.story.status;
      status.className = "badge badge-" + frame.story.status;
    }
  }
  updateCount();
}

function showLiveNote(state) {
  const note = byId("live-note");
  const message = liveStopped(state);
  if (!note || !message) return;
  note.textContent = message;
  note.hidden = false;
}

/** Follow the story's live stream into the published list (sockets only: the desk never polled). */
export function setUpLiveList(desk) {
  if (!("WebSocket" in window) || !desk.dataset.liveUrl || !byId("entries")) return;
  followStory(desk, { apply: applyFrame, onState: showLiveNote });
}
