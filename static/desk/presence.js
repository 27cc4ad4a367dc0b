// "Also editing": the edit page holds a lease on the entry (renewed every 10 s, given back on
// leaving) and hears from watch.js at once when a colleague opens the entry or saves it.
import { list, text } from "./text.js";

const RENEW_EVERY_MS = 10000;

const page = document.getElementById("edit-entry");
const box = document.getElementById("presence");
const savedNote = document.getElementById("saved-elsewhere");

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function leaseForm(leave) {
  const body = new FormData();
  body.append("csrf_token", csrfToken());
  if (leave) body.append("leave", "1");
  return body;
}

function showEditing(names) {
  if (!box) return;
  box.hidden = names.length === 0;
  box.textContent = names.length ? text("Also editing: {names}", { names: list(names) }) : "";
}

function renew(url) {
  fetch(url, { method: "POST", body: leaseForm(false), credentials: "same-origin",
               headers: { Accept: "application/json" } })
    .then((response) => (response.ok ? response.json() : null))
    .then((data) => {
      if (data && Array.isArray(data.editing)) showEditing(data.editing);
    })
    .catch(() => {}); // offline: the lease runs out by itself; the next renewal brings it back
}

// A colleague's save moves the entry past the version this form is based on: say so now,
// before the journalist finds out by a refused save.
function showSavedElsewhere(entry) {
  if (!savedNote) return;
  const form = document.getElementById("version");
  const base = form ? parseInt(form.value, 10) : entry.version;
  if (entry.saved_by_me || !(entry.version > base)) {
    savedNote.hidden = true;
    return;
  }
  savedNote.textContent = text("{name} saved version {version} while you were editing. Your text is " +
    "still here; saving it will ask what to keep.",
  { name: entry.saved_by || text("Someone"), version: entry.version });
  savedNote.hidden = false;
}

function start() {
  const url = page.dataset.presenceUrl;
  if (!url) return;
  renew(url);
  const timer = setInterval(() => renew(url), RENEW_EVERY_MS);
  window.addEventListener("pagehide", () => {
    clearInterval(timer);
    if (navigator.sendBeacon) navigator.sendBeacon(url, leaseForm(true));
  });
  document.addEventListener("desk:watch", (event) => {
    const entry = event.detail && event.detail.entry;
    if (entry === null && savedNote) {
      savedNote.textContent = text("This entry has been deleted or rejected since you opened it.");
      savedNote.hidden = false;
      return;
    }
    if (!entry) return;
    showEditing(entry.editing || []);
    showSavedElsewhere(entry);
  });
}

if (page) start();
