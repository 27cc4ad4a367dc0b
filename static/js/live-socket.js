// The live-socket client the reader page and the desk share: one WebSocket to a story's live
// stream, each event handed on once and in seq order, a resume from the last seq shown after any
// drop, and, where a network never lets a socket open, polling of the events API (if the page
// asks for it). The server's side: liveblog/live (the stream and its close codes).

// The server sends a heartbeat every 25 s; silence for much longer means a dead connection.
const SILENCE_LIMIT_MS = 70000;
const MAX_BACKOFF_MS = 30000;
const SOCKET_RETRY_WHILE_POLLING_MS = 60000;
// A network that never lets a socket open (a strict proxy) gets polling after this many tries.
const TRIES_BEFORE_POLLING = 3;
// Close codes the server sends. 1013 (the database is not answering) and any other close, ours
// included (4000: a gap, 4001: silence), back off and resume from the last seq.
const CLOSE_GONE = 4404; // a draft or deleted story: nothing more will come to this page
const CLOSE_ARCHIVED = 4410; // an archived story never updates again
const CLOSE_RESTARTING = 1012; // a server restarting: come back at once, to another process

/**
 * Follow the story whose element carries data-live-url and data-seq (kept at the seq shown).
 * apply(frame) shows one event; onState(state) hears "live", "reconnecting", "polling", "gone"
 * or "archived"; pollUrl (the story's events API) allows polling, every pollMs.
 */
export function followStory(element, { apply, onState = () => {}, pollUrl = null, pollMs = 15000 }) {
  let lastSeq = parseInt(element.dataset.seq, 10) || 0;
  let socket = null;
  let attempts = 0;
  let everOpened = false;
  let watchdog = null;
  let pollTimer = null;
  let archived = false;
  let gone = false;

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
    // Nothing more will come: the socket stops for good.
    if (frame.type === "story.updated" && frame.story && frame.story.archived) archived = true;
    lastSeq = frame.seq;
    element.dataset.seq = String(lastSeq);
    return true;
  }

  function armWatchdog() {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      if (socket) socket.close(4001, "silent");
    }, SILENCE_LIMIT_MS);
  }

  function connect() {
    if (gone) return;
    if (!("WebSocket" in window)) {
      if (pollUrl) startPolling();
      return;
    }
    const url = new URL(element.dataset.liveUrl, window.location.href);
    // By the socket's own address: on another site's page (fragment-live.js) it names our host.
    url.protocol = url.protocol === "https:" || url.protocol === "wss:" ? "wss:" : "ws:";
    url.searchParams.set("after", String(lastSeq));
    let opened = false;
    socket = new WebSocket(url.toString());
    socket.addEventListener("open", () => {
      opened = everOpened = true;
      attempts = 0;
      stopPolling();
      onState("live");
      armWatchdog();
    });
    socket.addEventListener("message", (event) => {
      armWatchdog();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (!receive(frame)) socket.close(4000, "gap");
      else if (archived) socket.close(1000, "archived");
    });
    socket.addEventListener("close", (event) => {
      clearTimeout(watchdog);
      socket = null;
      if (archived || event.code === CLOSE_ARCHIVED) {
        archived = true;
        onState("archived");
        return;
      }
      if (event.code === CLOSE_GONE || gone) {
        storyGone();
        return;
      }
      if (event.code === CLOSE_RESTARTING) attempts = 0;
      attempts += 1;
      if (pollUrl && !opened && !everOpened && attempts >= TRIES_BEFORE_POLLING) {
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
    // Unpublished (set back to draft) or deleted: asking again would only load the server.
    gone = true;
    stopPolling();
    onState("gone");
  }

  function scheduleReconnect() {
    // Capped exponential backoff with full jitter, so a crowd does not reconnect in step.
    const ceiling = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempts);
    if (attempts > 2) onState("reconnecting");
    setTimeout(connect, Math.random() * ceiling);
  }

  function poll() {
    fetch(pollUrl + "?after=" + lastSeq, { headers: { Accept: "application/json" } })
      .then((response) => {
        if (response.status === 404) return storyGone();
        if (!response.ok) throw new Error(response.statusText);
        return response.json();
      })
      .then((page) => {
        if (!page) return;
        page.events.every(receive);
        // A full page means more are waiting: ask again at once.
        if (page.events.length && lastSeq < page.last_seq) poll();
      })
      .catch(() => {});
  }

  function startPolling() {
    if (pollTimer) return;
    onState("polling");
    poll();
    pollTimer = setInterval(poll, pollMs);
  }

  function stopPolling() {
    if (!pollTimer) return;
    clearInterval(pollTimer);
    pollTimer = null;
  }

  connect();
}
