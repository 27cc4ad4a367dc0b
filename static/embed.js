// Embeds liveblog stories: <div data-liveblog="https://host/stories/slug"></div> becomes an
// iframe to that story's embed page, resized to fit whenever the page inside reports its height.
// An iframe that is already there (the oEmbed answer: <iframe data-liveblog-frame>) is resized
// the same way. docs/embedding.md shows both.
(function () {
  "use strict";

  var STORY_PATH = /^\/stories\/[a-z0-9]+(?:-[a-z0-9]+)*\/?$/;
  var EMBED_PATH = /^\/stories\/[a-z0-9]+(?:-[a-z0-9]+)*\/embed$/;
  var MAX_HEIGHT = 100000; // px: a bound on what a frame may ask for
  var frames = [];

  function embedUrl(address) {
    var url;
    try {
      url = new URL(address); // absolute addresses only
    } catch (error) {
      return null;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    if (!STORY_PATH.test(url.pathname)) return null;
    url.pathname = url.pathname.replace(/\/$/, "") + "/embed";
    url.search = "";
    url.hash = "";
    return url;
  }

  function embed(container) {
    if (container.dataset.liveblogEmbedded) return; // the script may be included twice
    var url = embedUrl(container.getAttribute("data-liveblog") || "");
    if (!url) return;
    container.dataset.liveblogEmbedded = "true";
    var title = container.getAttribute("data-liveblog-title") || container.textContent.trim();
    var iframe = document.createElement("iframe");
    iframe.src = url.toString();
    iframe.title = title ? "Live: " + title : "Live updates";
    iframe.style.width = "100%";
    iframe.style.border = "0";
    iframe.style.display = "block";
    // Scripts and links that open a new tab, but no navigating or dialogs on the host page.
    iframe.setAttribute(
      "sandbox",
      "allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox"
    );
    container.replaceChildren(iframe);
    frames.push({ iframe: iframe, origin: url.origin });
  }

  function onMessage(event) {
    var data = event.data;
    if (!data || data.type !== "liveblog:height") return;
    var height = Number(data.height);
    if (!isFinite(height) || height <= 0) return;
    for (var i = 0; i < frames.length; i++) {
      var frame = frames[i];
      // Only the frame itself, still showing our origin, may resize it.
      if (event.source === frame.iframe.contentWindow && event.origin === frame.origin) {
        frame.iframe.style.height = Math.min(Math.ceil(height), MAX_HEIGHT) + "px";
        return;
      }
    }
  }

  function adopt(iframe) {
    if (iframe.dataset.liveblogEmbedded) return;
    var url;
    try {
      url = new URL(iframe.src);
    } catch (error) {
      return;
    }
    if ((url.protocol !== "http:" && url.protocol !== "https:") || !EMBED_PATH.test(url.pathname)) {
      return;
    }
    iframe.dataset.liveblogEmbedded = "true";
    iframe.style.width = "100%";
    frames.push({ iframe: iframe, origin: url.origin });
  }

  function embedAll() {
    var containers = document.querySelectorAll("div[data-liveblog]");
    for (var i = 0; i < containers.length; i++) embed(containers[i]);
    var ready = document.querySelectorAll("iframe[data-liveblog-frame]");
    for (var j = 0; j < ready.length; j++) adopt(ready[j]);
  }

  window.addEventListener("message", onMessage);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", embedAll);
  } else {
    embedAll();
  }
})();
