// A "Share" button on each entry of the page and the embed: the Web Share API where the browser
// has it, else the entry's link copied to the clipboard and said in the page's one polite live
// region (a region per entry is one more for a screen reader to track each time). Added here,
// not in templates/_entry.html, so feeds and live frames carry no dead control; without a
// script the entry's label stays a plain link to its permalink. No third-party script.
(function () {
  "use strict";
  const script = document.currentScript;
  const text = {
    share: (script && script.dataset.share) || "Share",
    copied: (script && script.dataset.copied) || "Link copied",
    failed: (script && script.dataset.failed) || "Copy this link:",
  };

  function entryLink(entry) {
    const link = entry.querySelector(".entry-label a");
    return link ? link.href : window.location.href;
  }

  function entryTitle(entry) {
    const heading = entry.querySelector(".entry-headline") || entry.querySelector(".entry-label");
    const story = document.getElementById("story-title");
    const title = heading ? heading.textContent.trim() : "";
    return story ? story.textContent.trim() + (title ? ": " + title : "") : title;
  }

  // The page's polite region (live.js announces new updates there too), else one made here.
  function announcer() {
    let region = document.getElementById("live-announcer");
    if (!region) {
      region = document.createElement("div");
      region.id = "live-announcer";
      region.className = "visually-hidden";
      region.setAttribute("aria-live", "polite");
      region.setAttribute("aria-atomic", "true");
      document.body.appendChild(region);
    }
    return region;
  }

  function say(status, message) {
    // Shown beside the button; said once, by the page's region. Emptied first, so a second
    // click says it again.
    const region = announcer();
    status.textContent = region.textContent = "";
    window.setTimeout(() => { status.textContent = region.textContent = message; }, 50);
  }

  async function copy(url, status) {
    try {
      await navigator.clipboard.writeText(url);
      say(status, text.copied);
    } catch (error) {
      // No clipboard (an old browser, a frame without the permission): the link, to copy by hand.
      say(status, text.failed + " " + url);
    }
  }

  async function share(entry, status) {
    const data = { title: entryTitle(entry), url: entryLink(entry) };
    if (navigator.share && (!navigator.canShare || navigator.canShare(data))) {
      try {
        await navigator.share(data);
      } catch (error) {
        if (error && error.name === "AbortError") return; // the reader closed the share sheet
        await copy(data.url, status);
      }
      return;
    }
    await copy(data.url, status);
  }

  function addButton(entry) {
    const meta = entry.querySelector(".entry-meta");
    if (!meta || meta.querySelector(".entry-share")) return;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "entry-share";
    button.textContent = text.share;
    const status = document.createElement("span");
    status.className = "entry-share-status";
    button.addEventListener("click", () => share(entry, status));
    meta.append(button, status);
  }

  function setUp(root) {
    if (root.matches && root.matches("article.entry")) addButton(root);
    else if (root.querySelectorAll) root.querySelectorAll("article.entry").forEach(addButton);
  }

  const list = document.getElementById("entries");
  if (!list) return;
  setUp(list);
  // Entries that arrive live, are released, loaded from older pages or replaced by an edit.
  new MutationObserver((changes) => changes.forEach((change) => {
    change.addedNodes.forEach((node) => { if (node.nodeType === 1) setUp(node); });
  })).observe(list, { childList: true, subtree: true });
})();
