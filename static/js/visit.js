// Counts this view of a story page or embed (liveblog/analytics/visits.py): one small request
// after the page is shown, no cookie, and only a host name: the other site a reader came from
// (page), or the site that framed the story (embed), which our loader (static/embed.js) names
// by sending this frame a message, whose origin the browser vouches for.
(function () {
  "use strict";

  var script = document.currentScript;
  var url = script && script.getAttribute("data-visit");
  var kind = script && script.getAttribute("data-kind");
  if (!url || (kind !== "page" && kind !== "embed")) return;
  var WAIT_FOR_LOADER = 2000; // ms: a frame without our loader falls back to its referrer
  var sent = false;

  function hostOf(address) {
    try {
      var parsed = new URL(address);
      // A reader moving around this site came from no other site.
      return parsed.origin === location.origin ? "" : parsed.hostname;
    } catch (error) {
      return "";
    }
  }

  function send(source) {
    if (sent) return;
    sent = true;
    fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ kind: kind, source: source }),
      credentials: "omit",
      keepalive: true,
    }).catch(function () {}); // a view that is not counted is no reader's problem
  }

  function onMessage(event) {
    var data = event.data;
    if (event.source !== window.parent || !data || data.type !== "liveblog:parent") return;
    send(hostOf(event.origin));
  }

  function start() {
    if (kind === "page" || window.parent === window) {
      send(kind === "page" ? hostOf(document.referrer) : "");
      return;
    }
    window.addEventListener("message", onMessage);
    setTimeout(function () {
      send(hostOf(document.referrer));
    }, WAIT_FOR_LOADER);
  }

  // A page the browser prerenders is counted only if the reader goes on to open it.
  if (document.prerendering) {
    document.addEventListener("prerenderingchange", start, { once: true });
  } else {
    start();
  }
})();
