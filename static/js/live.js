// Keeps a story page live without jolting its reader: one WebSocket (or polling where sockets are
// blocked), frames applied in seq order, resume after a drop, new entries held while the reader
// is scrolled down or away, newest/oldest order, relative times and deep links to old entries.
(function () {
  "use strict";

  var story = document.getElementById("story");
  var list = document.getElementById("entries");
  if (!story || !list) return;

  var slug = story.dataset.story;
  var lastSeq = parseInt(story.dataset.seq, 10) || 0;
  var announcer = document.getElementById("live-announcer");
  var connection = document.getElementById("live-connection");
  var baseTitle = document.title;
  var held = []; // new entries waiting for the reader to come back to the top
  var newestFirst = readOrder() !== "oldest";
  // The server sends a heartbeat every 25 s; silence for much longer means a dead connection.
  var SILENCE_LIMIT_MS = 70000;
  var MAX_BACKOFF_MS = 30000;
  var POLL_MS = window.liveblogPollMs || 15000;
  var SOCKET_RETRY_WHILE_POLLING_MS = 60000;

  // ---- Entries in the list -------------------------------------------------------------------

  function fromHtml(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function entries() {
    return list.querySelectorAll(":scope > .entry");
  }

  function isNewer(a, b) {
    // Publish time first, then id: the same order as the server's pages.
    if (a.dataset.published !== b.dataset.published) {
      return a.dataset.published > b.dataset.published;
    }
    return parseInt(a.dataset.entryId, 10) > parseInt(b.dataset.entryId, 10);
  }

  function insertInOrder(element, older) {
    // `older` entries come from "load older"; anything else is new and belongs at the new end.
    var shown = entries();
    for (var i = 0; i < shown.length; i++) {
      if (newestFirst ? isNewer(element, shown[i]) : isNewer(shown[i], element)) {
        list.insertBefore(element, shown[i]);
        return;
      }
    }
    // Past the last entry shown: the new end when oldest-first; with newest-first that end is
    // the old one, and an entry belongs there only if nothing older is left to load.
    if (older || !newestFirst || shown.length === 0 || !document.getElementById("load-older")) {
      list.appendChild(element);
    }
  }

  function announce(text) {
    if (announcer) announcer.textContent = text;
  }

  function showEmptyState() {
    if (list.querySelector(".entry") || document.getElementById("no-entries")) return;
    var empty = document.createElement("p");
    empty.className = "no-entries";
    empty.id = "no-entries";
    empty.textContent = "No updates yet. This page updates itself.";
    list.appendChild(empty);
  }

  // "Last updated" reads as the server writes it: "16:05 GMT, 30 Nov 2026", in the story's zone
  // (the zone its time labels use), never in the reader's own. The zone's names come from the
  // server, by UTC offset: browsers have their own ("GMT-5" for "EST").
  // Made at the first live update, not at load: loading a zone's rules takes 25-60 ms of the
  // main thread, which Lighthouse counts as blocking time on a phone.
  var storyClockMade = false;
  var storyClockFormat = null;

  function storyClock() {
    if (!storyClockMade) {
      storyClockMade = true;
      try {
        storyClockFormat = new Intl.DateTimeFormat("en-US", {
          timeZone: story.dataset.timezone, hour: "2-digit", minute: "2-digit", hourCycle: "h23",
          day: "2-digit", month: "numeric", year: "numeric", timeZoneName: "longOffset",
        });
      } catch (error) {
        storyClockFormat = null; // a zone this browser does not know: keep the server's text
      }
    }
    return storyClockFormat;
  }
  var zoneNames = JSON.parse(story.dataset.zoneNames || "{}");
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function storyTime(when) {
    var part = {};
    storyClock().formatToParts(when).forEach(function (p) { part[p.type] = p.value; });
    // "GMT-05:00", or "GMT" at offset zero.
    var offset = /GMT([+-])(\d\d):(\d\d)/.exec(part.timeZoneName);
    var minutes = offset ? (offset[1] === "-" ? -1 : 1) * (offset[2] * 60 + +offset[3]) : 0;
    var zone = zoneNames[minutes] || part.timeZoneName;
    return part.hour + ":" + part.minute + " " + zone + ", " +
      part.day + " " + MONTHS[parseInt(part.month, 10) - 1] + " " + part.year;
  }

  function markUpdated() {
    var updated = document.getElementById("story-updated");
    if (!updated || !storyClock()) return;
    var now = new Date();
    updated.setAttribute("datetime", now.toISOString());
    updated.textContent = storyTime(now);
  }

  // ---- Holding new entries while the reader is away ------------------------------------------

  var newUpdates = document.createElement("button");
  newUpdates.type = "button";
  newUpdates.id = "new-updates";
  newUpdates.className = "new-updates";
  newUpdates.hidden = true;
  list.parentNode.insertBefore(newUpdates, list);

  function readerIsAway() {
    if (document.visibilityState === "hidden") return true;
    // Inserting above a reader who has scrolled into the list would push the text they read.
    return newestFirst && list.getBoundingClientRect().top < 0;
  }

  function hold(element) {
    held.push(element);
    var count = held.length;
    newUpdates.textContent = count === 1 ? "1 new update" : count + " new updates";
    newUpdates.hidden = false;
    document.title = "(" + count + ") " + baseTitle;
  }

  function releaseHeld(scroll) {
    held.splice(0).forEach(function (element) {
      if (!document.getElementById(element.id)) insertInOrder(element, false);
    });
    newUpdates.hidden = true;
    document.title = baseTitle;
    if (scroll) list.scrollIntoView({ block: "start" });
  }

  newUpdates.addEventListener("click", function () {
    releaseHeld(true);
    // Move keyboard and screen-reader focus to the newest entry, where reading resumes.
    var first = entries()[0];
    if (!first) return;
    first.setAttribute("tabindex", "-1");
    first.focus({ preventScroll: true });
  });
  document.addEventListener("visibilitychange", function () {
    if (!readerIsAway() && held.length) releaseHeld(false);
  });
  window.addEventListener("scroll", function () {
    if (held.length && !readerIsAway() && window.scrollY === 0) releaseHeld(false);
  }, { passive: true });

  // ---- Applying frames -----------------------------------------------------------------------

  function entrySeq(element) {
    return parseInt(element.dataset.seq, 10) || 0;
  }

  function findHeld(id) {
    for (var i = 0; i < held.length; i++) if (held[i].id === id) return i;
    return -1;
  }

  function applyEntry(frame) {
    var element = fromHtml(frame.html);
    var current = document.getElementById(element.id);
    var heldAt = findHeld(element.id);
    if (current) {
      // The page may already show this change (rendered after the page's seq was read).
      if (entrySeq(current) < frame.seq) current.replaceWith(element);
    } else if (heldAt >= 0) {
      held[heldAt] = element;
    } else if (frame.type === "entry.created") {
      element.classList.add("arriving");
      var empty = document.getElementById("no-entries");
      if (empty) empty.remove();
      if (readerIsAway()) hold(element);
      else insertInOrder(element, false);
      announce("New update: " + (frame.entry.headline || frame.entry.label));
    }
    refreshTimes(element);
  }

  function removeEntry(id) {
    var gone = document.getElementById("entry-" + id);
    if (gone) gone.remove();
    var heldAt = findHeld("entry-" + id);
    if (heldAt >= 0) {
      held.splice(heldAt, 1);
      if (held.length) hold(held.pop());
      else releaseHeld(false);
    }
    showEmptyState();
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
      link.href = "/stories/" + slug + "/entries/" + entry.id;
      link.textContent = entry.headline || entry.label;
      item.appendChild(link);
      var after = Array.prototype.find.call(latest.children, function (other) {
        return parseInt(other.dataset.keyOrder, 10) < entry.key_order;
      });
      latest.insertBefore(item, after || null);
    }
    box.hidden = latest.children.length === 0;
  }

  function applyStory(data) {
    var status = document.getElementById("story-status");
    var title = document.getElementById("story-title");
    story.dataset.status = data.status;
    if (status) status.textContent = data.status === "ended" ? "ENDED" : "LIVE";
    if (title) title.textContent = data.title;
    if (data.status === "ended") announce("This story has ended.");
    if (data.archived) archived = true; // nothing more will come: stop the socket for good
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
    }
    markUpdated();
  }

  // Returns false when the stream has a hole and must be restarted from lastSeq.
  function receive(frame) {
    // A heartbeat carries the story's seq as the server knows it: a page short of it lost a
    // frame on the way (a server that could not relay it at once), and resumes from lastSeq.
    if (frame.type === "heartbeat") {
      return !(typeof frame.seq === "number" && frame.seq > lastSeq);
    }
    if (frame.type === "story.reset") {
      window.location.reload();
      return true;
    }
    if (typeof frame.seq !== "number" || frame.seq <= lastSeq) return true; // seen already
    if (frame.seq > lastSeq + 1) return false; // the server sends every seq in order
    apply(frame);
    lastSeq = frame.seq;
    story.dataset.seq = String(lastSeq);
    return true;
  }

  // ---- The WebSocket, and polling where it cannot connect ------------------------------------

  var socket = null;
  var archived = false;
  var attempts = 0;
  var everOpened = false;
  var watchdog = null;
  var pollTimer = null;
  var gone = false;

  function showConnection(text) {
    if (!connection) return;
    connection.hidden = !text;
    connection.textContent = text || "";
  }

  function armWatchdog() {
    clearTimeout(watchdog);
    watchdog = setTimeout(function () {
      if (socket) socket.close(4001, "silent");
    }, SILENCE_LIMIT_MS);
  }

  function connect() {
    if (gone) return;
    if (!("WebSocket" in window)) return startPolling();
    var url = new URL(story.dataset.liveUrl, window.location.href);
    url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("after", String(lastSeq));
    var opened = false;
    socket = new WebSocket(url.toString());
    socket.addEventListener("open", function () {
      opened = everOpened = true;
      attempts = 0;
      stopPolling();
      showConnection("");
      armWatchdog();
    });
    socket.addEventListener("message", function (event) {
      armWatchdog();
      var frame;
      try {
        frame = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (!receive(frame)) socket.close(4000, "gap");
      else if (archived) socket.close(1000, "archived");
    });
    socket.addEventListener("close", function (event) {
      clearTimeout(watchdog);
      socket = null;
      if (archived || event.code === 4410) return; // an archived story never updates again
      if (event.code === 4404 || gone) return storyGone();
      if (event.code === 1012) attempts = 0; // a server restarting: come back at once, elsewhere
      attempts += 1;
      // A network that never lets a socket open (a strict proxy) gets polling instead.
      if (!opened && !everOpened && attempts >= 3) {
        startPolling();
        setTimeout(connect, SOCKET_RETRY_WHILE_POLLING_MS);
      } else if (pollTimer) {
        setTimeout(connect, SOCKET_RETRY_WHILE_POLLING_MS);
      } else {
        scheduleReconnect();
      }
    });
  }

  function storyGone() {
    // Unpublished (set back to draft) or deleted: nothing more will come to this page.
    gone = true;
    stopPolling();
    showConnection("This story is no longer available.");
  }

  function scheduleReconnect() {
    // Capped exponential backoff with full jitter, so a crowd does not reconnect in step.
    var ceiling = Math.min(MAX_BACKOFF_MS, 500 * Math.pow(2, attempts));
    if (attempts > 2) showConnection("Reconnecting…");
    setTimeout(connect, Math.random() * ceiling);
  }

  function poll() {
    var url = "/api/stories/" + slug + "/events?after=" + lastSeq;
    fetch(url, { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 404) return storyGone();
        if (!response.ok) throw new Error(response.statusText);
        return response.json();
      })
      .then(function (page) {
        if (!page) return;
        page.events.every(receive);
        // A full page means more are waiting: ask again at once.
        if (page.events.length && lastSeq < page.last_seq) poll();
      })
      .catch(function () {});
  }

  function startPolling() {
    if (pollTimer) return;
    showConnection("Live updates every few seconds (this network blocks instant updates).");
    poll();
    pollTimer = setInterval(poll, POLL_MS);
  }

  function stopPolling() {
    if (!pollTimer) return;
    clearInterval(pollTimer);
    pollTimer = null;
  }

  // ---- Older entries, order, times, deep links -----------------------------------------------

  function olderControl() {
    return document.getElementById("load-older");
  }

  function loadOlder(event) {
    var link = event.target.closest("#load-older");
    if (!link) return;
    event.preventDefault();
    fetchOlder(link);
  }

  function fetchOlder(link) {
    if (link.getAttribute("aria-busy") === "true") return Promise.resolve(false);
    var url = new URL(story.dataset.entriesUrl, window.location.href);
    url.searchParams.set("before", link.dataset.before);
    link.setAttribute("aria-busy", "true");
    return fetch(url.toString(), { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(response.statusText);
        return response.json();
      })
      .then(function (page) {
        page.entries.forEach(function (entry) {
          if (document.getElementById("entry-" + entry.id)) return;
          var element = fromHtml(entry.html);
          insertInOrder(element, true);
          refreshTimes(element);
        });
        var last = page.entries[page.entries.length - 1];
        link.removeAttribute("aria-busy");
        if (page.next && last) {
          link.dataset.before = String(last.id);
          link.href = "?before=" + last.id;
          return true;
        }
        link.parentElement.remove();
        return false;
      })
      .catch(function () {
        link.removeAttribute("aria-busy");
        return false;
      });
  }

  function readOrder() {
    try {
      return window.localStorage.getItem("liveblog:order");
    } catch (error) {
      return null;
    }
  }

  var orderButton = document.createElement("button");
  orderButton.type = "button";
  orderButton.id = "order-toggle";
  orderButton.className = "order-toggle";
  // Into the room the page keeps for it, so the entries do not move down once it appears.
  var tools = document.getElementById("entries-tools");
  if (tools) tools.appendChild(orderButton);
  else list.parentNode.insertBefore(orderButton, newUpdates);

  function showOrder() {
    orderButton.textContent = newestFirst ? "Show oldest first" : "Show newest first";
    orderButton.setAttribute("aria-pressed", newestFirst ? "false" : "true");
    list.setAttribute("aria-label", newestFirst ? "Updates, newest first" : "Updates, oldest first");
    var older = olderControl();
    // "Load older" sits at the old end of the list.
    if (older) list.parentNode.insertBefore(older.parentElement, newestFirst ? list.nextSibling : list);
  }

  orderButton.addEventListener("click", function () {
    releaseHeld(false);
    newestFirst = !newestFirst;
    try {
      window.localStorage.setItem("liveblog:order", newestFirst ? "newest" : "oldest");
    } catch (error) { /* private mode: the choice lasts for this page */ }
    Array.prototype.slice.call(entries()).reverse().forEach(function (element) {
      list.appendChild(element);
    });
    showOrder();
  });

  // In English, as the page is written, and by hand: Intl.RelativeTimeFormat loads ICU's locale
  // data first, 30-40 ms of the main thread at load on a desktop, four times that on a phone.
  function relativeWords(value, unit) {
    if (value === 0) return "now";
    if (unit === "day" && value === -1) return "yesterday";
    var count = Math.abs(value) + " " + unit + (Math.abs(value) === 1 ? "" : "s");
    return value < 0 ? count + " ago" : "in " + count;
  }

  function relativeText(when) {
    var seconds = Math.round((when.getTime() - Date.now()) / 1000);
    var steps = [[60, "second"], [60, "minute"], [24, "hour"], [7, "day"]];
    var value = seconds;
    for (var i = 0; i < steps.length; i++) {
      if (Math.abs(value) < steps[i][0]) return relativeWords(value, steps[i][1]);
      value = Math.round(value / steps[i][0]);
    }
    return null; // over a week: the date reads better
  }

  function refreshTimes(root) {
    (root || list).querySelectorAll("time.entry-time").forEach(function (time) {
      if (!time.dataset.absolute) time.dataset.absolute = time.textContent;
      var text = relativeText(new Date(time.getAttribute("datetime")));
      time.textContent = text || time.dataset.absolute;
      time.title = time.dataset.absolute;
    });
  }

  function openDeepLink() {
    var match = /^#entry-(\d+)$/.exec(window.location.hash);
    if (!match || document.getElementById("entry-" + match[1])) return;
    // An entry older than this page: its own address renders the page down to it.
    window.location.replace("/stories/" + slug + "/entries/" + match[1]);
  }

  document.addEventListener("click", loadOlder);
  if (!newestFirst) {
    Array.prototype.slice.call(entries()).reverse().forEach(function (element) {
      list.appendChild(element);
    });
  }
  showOrder();
  refreshTimes();
  setInterval(refreshTimes, 30000);
  openDeepLink();
  window.addEventListener("hashchange", openDeepLink);
  connect();
})();
