// Embeds liveblog stories: <div data-liveblog="https://host/stories/slug"></div> becomes an
// iframe to that story's embed page, resized to fit whenever the page inside reports its height,
// and named as the page inside names itself, in the story's language.
// An iframe that is already there (the oEmbed answer: <iframe data-liveblog-frame>) is resized
// the same way. A story's fragment that the host's server included (<div data-liveblog-fragment>,
// from /stories/<slug>/fragment) is kept live in place by our module js/fragment-live.js.
// docs/embedding.md shows each.
(function () {
  "use strict";

  var STORY_PATH = /^\/stories\/[a-z0-9]+(?:-[a-z0-9]+)*\/?$/;
  var EMBED_PATH = /^\/stories\/[a-z0-9]+(?:-[a-z0-9]+)*\/embed$/;
  var MAX_HEIGHT = 100000; // px: a bound on what a frame may ask for
  var MAX_TITLE = 400; // characters: a story title (at most 300) with "Live: " in any language
  var LANGUAGE_TAG = /^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$/; // BCP 47's shape
  var FRAGMENT_MODULE = "/static/js/fragment-live.js";
  var EMBEDS_SCRIPT = "/static/js/embeds.js"; // click-to-play for videos, as on the page
  // Where this script came from: only that server's module may run on the host page.
  var HOME = document.currentScript && document.currentScript.src
    ? new URL(document.currentScript.src).origin : null;
  var frames = [];

  function embedUrl(address, limit) {
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
    if (/^([1-9]|[1-4][0-9]|50)$/.test(limit || "")) url.searchParams.set("limit", limit); // a teaser
    return url;
  }

  function embed(container) {
    if (container.dataset.liveblogEmbedded) return; // the script may be included twice
    var url = embedUrl(
      container.getAttribute("data-liveblog") || "",
      container.getAttribute("data-liveblog-limit")
    );
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

  function name(iframe, data) {
    // The frame's own name for itself, in its story's language: the loader's is English.
    // Its language and direction go with it, so screen readers speak it in the right voice.
    var title = typeof data.title === "string" ? data.title.trim().slice(0, MAX_TITLE) : "";
    if (!title) return; // an older embed page: keep the loader's name
    if (iframe.title !== title) iframe.title = title;
    var lang = typeof data.lang === "string" && LANGUAGE_TAG.test(data.lang) ? data.lang : "";
    if (lang && iframe.lang !== lang) iframe.lang = lang;
    var dir = data.dir === "rtl" || data.dir === "ltr" ? data.dir : "";
    if (dir && iframe.dir !== dir) iframe.dir = dir;
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
        name(frame.iframe, data);
        if (!frame.greeted) {
          // The frame counts its view with this page's host (js/visit.js): the message's
          // origin, which the browser sets, names it; nothing else about the page is sent.
          frame.greeted = true;
          event.source.postMessage({ type: "liveblog:parent" }, frame.origin);
        }
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

  function addScript(src, isModule) {
    if (document.querySelector('script[src="' + src + '"]')) return; // the page has it already
    var script = document.createElement("script");
    if (isModule) script.type = "module"; // parsed only where modules are: older browsers skip it
    script.src = src;
    script.async = true;
    document.head.appendChild(script);
  }

  function upgradeFragments() {
    var roots = document.querySelectorAll("[data-liveblog-fragment][data-module]");
    for (var i = 0; i < roots.length; i++) {
      var url;
      try {
        url = new URL(roots[i].getAttribute("data-module"));
      } catch (error) {
        continue;
      }
      if (!HOME || url.origin !== HOME || url.pathname !== FRAGMENT_MODULE) continue;
      addScript(url.toString(), true);
      addScript(HOME + EMBEDS_SCRIPT, false);
    }
  }

  function embedAll() {
    var containers = document.querySelectorAll("div[data-liveblog]");
    for (var i = 0; i < containers.length; i++) embed(containers[i]);
    var ready = document.querySelectorAll("iframe[data-liveblog-frame]");
    for (var j = 0; j < ready.length; j++) adopt(ready[j]);
    upgradeFragments();
  }

  window.addEventListener("message", onMessage);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", embedAll);
  } else {
    embedAll();
  }
})();
