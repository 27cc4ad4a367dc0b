// Which entries readers saw, for the desk's analytics (liveblog/api/seen.py): an entry counts
// once at least half of it (or half the screen, for a tall one) has been on screen for a second
// while the page is visible. Ids are batched and sent with sendBeacon 30 s after the first one,
// and when the page is hidden or left: no request at load, no cookie, no identifier, only the
// story's entry ids, each at most once per page view.
(function () {
  "use strict";
  const story = document.getElementById("story");
  const list = document.getElementById("entries");
  if (!story || !list || !("IntersectionObserver" in window) || !navigator.sendBeacon) return;
  const url = "/api/stories/" + encodeURIComponent(story.dataset.story) + "/seen";
  const DWELL_MS = 1000;
  const EVERY_MS = 30000;
  const MAX_BATCH = 50; // the server's bound
  const timers = new Map(); // entry element -> its pending dwell timer
  const counted = new Set(); // ids already counted in this page view
  let batch = [];
  let flushTimer = null;

  function send() {
    window.clearTimeout(flushTimer);
    flushTimer = null;
    while (batch.length) {
      const body = JSON.stringify({ entries: batch.splice(0, MAX_BATCH) });
      navigator.sendBeacon(url, new Blob([body], { type: "application/json" }));
    }
  }

  function count(entry) {
    timers.delete(entry);
    const id = Number(entry.dataset.entryId);
    if (document.hidden || !entry.isConnected) return; // looked at again when visible
    observer.unobserve(entry);
    if (!id || counted.has(id)) return;
    counted.add(id);
    batch.push(id);
    if (batch.length >= MAX_BATCH) send();
    else if (flushTimer === null) flushTimer = window.setTimeout(send, EVERY_MS);
  }

  function onScreen(change) {
    return change.isIntersecting && (change.intersectionRatio >= 0.5 ||
      change.intersectionRect.height >= window.innerHeight / 2);
  }

  const observer = new IntersectionObserver((changes) => changes.forEach((change) => {
    const entry = change.target;
    if (onScreen(change)) {
      if (!timers.has(entry)) timers.set(entry, window.setTimeout(() => count(entry), DWELL_MS));
    } else if (timers.has(entry)) {
      window.clearTimeout(timers.get(entry));
      timers.delete(entry);
    }
  }), { threshold: [0, 0.25, 0.5, 0.75, 1] });

  function watch(root) {
    root.querySelectorAll(".entry[data-entry-id]").forEach((entry) => {
      if (!counted.has(Number(entry.dataset.entryId))) observer.observe(entry);
    });
  }

  watch(list);
  // Entries the live page adds (or replaces, when edited) later.
  new MutationObserver((changes) => changes.forEach((change) => change.addedNodes.forEach(
    (node) => {
      if (node.nodeType !== 1) return;
      if (node.matches(".entry[data-entry-id]")) {
        if (!counted.has(Number(node.dataset.entryId))) observer.observe(node);
      } else {
        watch(node);
      }
    }))).observe(list, { childList: true, subtree: true });

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      send();
    } else {
      // Entries left on screen while hidden: observing again reports where they are now.
      list.querySelectorAll(".entry[data-entry-id]").forEach((entry) => observer.unobserve(entry));
      watch(list);
    }
  });
  window.addEventListener("pagehide", send);
})();
