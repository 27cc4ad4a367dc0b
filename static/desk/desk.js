// The desk's script: the composer on the story desk and the edit page, and on the story desk its
// actions, live list, held lists and reader count. Every page works without it; this layer makes
// posting fast and keeps text safe under pressure. One module per feature, all started here.
import { setUpActions } from "./actions.js";
import { byId } from "./common.js";
import { setUpForm } from "./compose.js";
import { setUpLiveList } from "./live-list.js";
import { refreshSideLists } from "./side-lists.js";
import { plural } from "./text.js";

// The count adds up every process's reports, which are a few seconds old anyway.
const READERS_EVERY_MS = 15000;

// What watch.js hears: held entries and the story's status, changed by someone else.
function setUpDeskWatch(desk) {
  document.addEventListener("desk:watch", (event) => {
    const state = event.detail || {};
    if (state.status && state.status !== desk.dataset.status) {
      // Ended or reopened elsewhere: the page's actions and composer change with it. Unsent
      // text is kept by the autosave and offered back after the reload.
      window.location.reload();
      return;
    }
    refreshSideLists(); // a submission, approval, draft or schedule: swap in the held lists
  });
}

function setUpReaderCount() {
  const count = byId("reader-count");
  const noun = byId("reader-noun");
  if (!count || !count.dataset.url) return;
  setInterval(() => {
    if (document.hidden) return;
    fetch(count.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : null))
      .then((data) => {
        if (!data || typeof data.readers !== "number") return;
        count.textContent = String(data.readers);
        if (noun) noun.textContent = plural("reader", "readers", data.readers);
      })
      .catch(() => {}); // the next tick tries again; the live list shows connectivity
  }, READERS_EVERY_MS);
}

function start() {
  const form = byId("compose");
  if (form) setUpForm(form);
  const desk = byId("story-desk");
  if (desk) {
    setUpActions();
    setUpDeskWatch(desk);
    setUpLiveList(desk);
    setUpReaderCount();
  }
}

start();
