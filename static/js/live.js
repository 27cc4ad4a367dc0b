// Keeps a story page live: one WebSocket, frames applied in seq order, resume after a drop.
(function () {
  "use strict";

  var story = document.getElementById("story");
  var list = document.getElementById("entries");
  if (!story || !list || !("WebSocket" in window)) return;

  var lastSeq = parseInt(story.dataset.seq, 10) || 0;
  var announcer = document.getElementById("live-announcer");
  var connection = document.getElementById("live-connection");
  var socket = null;
  var attempts = 0;
  var watchdog = null;
  // The server sends a heartbeat every 25 s; silence for much longer means a dead connection.
  var SILENCE_LIMIT_MS = 70000;
  var MAX_BACKOFF_MS = 30000;

  function fromHtml(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function entrySeq(element) {
    return parseInt(element.dataset.seq, 10) || 0;
  }

  function announce(text) {
    if (announcer) announcer.textContent = text;
  }

  function insertInOrder(element) {
    // Newest first by publish time; a live entry almost always goes to the top.
    var published = element.dataset.published;
    var children = list.querySelectorAll(":scope > .entry");
    for (var i = 0; i < children.length; i++) {
      if (children[i].dataset.published <= published) {
        list.insertBefore(element, children[i]);
        return;
      }
    }
    if (children.length === 0 || !document.getElementById("load-older")) {
      list.appendChild(element);
    }
  }

  function applyEntry(frame) {
    var element = fromHtml(frame.html);
    var current = document.getElementById(element.id);
    if (current) {
      // The page may already show this change (rendered after the page's seq was read).
      if (entrySeq(current) < frame.seq) current.replaceWith(element);
      return;
    }
    if (frame.type === "entry.created") {
      var empty = document.getElementById("no-entries");
      if (empty) empty.remove();
      insertInOrder(element);
      announce("New update: " + (frame.entry.headline || frame.entry.label));
    }
  }

  function applyStory(storyData) {
    var status = document.getElementById("story-status");
    var title = document.getElementById("story-title");
    story.dataset.status = storyData.status;
    if (status) status.textContent = storyData.status === "ended" ? "ENDED" : "LIVE";
    if (title) title.textContent = storyData.title;
    if (storyData.status === "ended") announce("This story has ended.");
  }

  function applyLatest(entry, deleted) {
    // The LATEST box lists key entries by their key order, highest first.
    var box = document.getElementById("latest");
    var latest = document.getElementById("latest-list");
    if (!box || !latest) return;
    var item = latest.querySelector('li[data-entry-id="' + entry.id + '"]');
    if (item) item.remove();
    if (!deleted && entry.pinned) {
      item = document.createElement("li");
      item.dataset.entryId = String(entry.id);
      item.dataset.keyOrder = String(entry.key_order || 0);
      var link = document.createElement("a");
      link.href = "/stories/" + story.dataset.story + "/entries/" + entry.id;
      link.textContent = entry.headline || entry.label;
      item.appendChild(link);
      var after = Array.prototype.find.call(latest.children, function (other) {
        return parseInt(other.dataset.keyOrder, 10) < entry.key_order;
      });
      latest.insertBefore(item, after || null);
    }
    box.hidden = latest.children.length === 0;
  }

  function showEmptyState() {
    if (list.querySelector(".entry") || document.getElementById("no-entries")) return;
    var empty = document.createElement("p");
    empty.className = "no-entries";
    empty.id = "no-entries";
    empty.textContent = "No updates yet. This page updates itself.";
    list.appendChild(empty);
  }

  function markUpdated() {
    var updated = document.getElementById("story-updated");
    if (!updated) return;
    var now = new Date();
    updated.setAttribute("datetime", now.toISOString());
    updated.textContent = now.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function apply(frame) {
    if (frame.type === "entry.created" || frame.type === "entry.updated") {
      applyEntry(frame);
      applyLatest(frame.entry, false);
    } else if (frame.type === "entry.deleted") {
      var gone = document.getElementById("entry-" + frame.entry.id);
      if (gone) gone.remove();
      applyLatest(frame.entry, true);
      showEmptyState();
    } else if (frame.type === "story.updated") {
      applyStory(frame.story);
    }
    markUpdated();
  }

  function onMessage(event) {
    armWatchdog();
    var frame;
    try {
      frame = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    if (frame.type === "heartbeat") return;
    if (frame.type === "story.reset") {
      window.location.reload();
      return;
    }
    if (typeof frame.seq !== "number" || frame.seq <= lastSeq) return; // seen already
    if (frame.seq > lastSeq + 1) {
      // The server sends every seq in order; a hole means something went wrong: start again.
      socket.close(4000, "gap");
      return;
    }
    apply(frame);
    lastSeq = frame.seq;
    story.dataset.seq = String(lastSeq);
  }

  function armWatchdog() {
    clearTimeout(watchdog);
    watchdog = setTimeout(function () {
      if (socket) socket.close(4001, "silent");
    }, SILENCE_LIMIT_MS);
  }

  function showConnection(text) {
    if (!connection) return;
    connection.hidden = !text;
    connection.textContent = text || "";
  }

  function connect() {
    var url = new URL(story.dataset.liveUrl, window.location.href);
    url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("after", String(lastSeq));
    socket = new WebSocket(url.toString());
    socket.addEventListener("open", function () {
      attempts = 0;
      showConnection("");
      armWatchdog();
    });
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", function () {
      clearTimeout(watchdog);
      socket = null;
      scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    // Capped exponential backoff with full jitter, so a crowd does not reconnect in step.
    attempts += 1;
    var ceiling = Math.min(MAX_BACKOFF_MS, 500 * Math.pow(2, attempts));
    var delay = Math.random() * ceiling;
    if (attempts > 2) showConnection("Reconnecting…");
    setTimeout(connect, delay);
  }

  function loadOlder(event) {
    var link = event.target.closest("#load-older");
    if (!link) return;
    event.preventDefault();
    if (link.getAttribute("aria-busy") === "true") return; // one page at a time
    var url = new URL(story.dataset.entriesUrl, window.location.href);
    url.searchParams.set("before", link.dataset.before);
    link.setAttribute("aria-busy", "true");
    fetch(url.toString(), { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(response.statusText);
        return response.json();
      })
      .then(function (page) {
        page.entries.forEach(function (entry) {
          if (!document.getElementById("entry-" + entry.id)) list.appendChild(fromHtml(entry.html));
        });
        var last = page.entries[page.entries.length - 1];
        if (page.next && last) {
          link.dataset.before = String(last.id);
          link.removeAttribute("aria-busy");
        } else {
          link.parentElement.remove();
        }
      })
      .catch(function () {
        link.removeAttribute("aria-busy");
      });
  }

  document.addEventListener("click", loadOlder);
  connect();
})();
