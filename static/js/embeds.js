// Third-party players, charts, maps and posts load only when the reader asks (or the site says
// so): until then YouTube, Vimeo, X, Datawrapper, Flourish, Google and SoundCloud learn nothing
// about who reads the story.
(function () {
  "use strict";

  // Only the frames our server writes (liveblog/embed_providers.py; the CSP's frame-src agrees),
  // and what each may do: video players go full screen, charts and maps need nothing more.
  var VIDEO = "encrypted-media; picture-in-picture; fullscreen; autoplay";
  // The page's words when it is not in English (templates/_reader_strings.html).
  var WORDS = {};
  try {
    var block = document.getElementById("reader-strings");
    if (block) WORDS = JSON.parse(block.textContent);
  } catch (error) {
    WORDS = {};
  }
  function t(key, english) {
    return typeof WORDS[key] === "string" ? WORDS[key] : english;
  }
  var FRAMES = [
    { prefix: "https://www.youtube-nocookie.com/embed/", allow: VIDEO },
    { prefix: "https://player.vimeo.com/video/", allow: VIDEO },
    { prefix: "https://datawrapper.dwcdn.net/", allow: "" },
    { prefix: "https://flo.uri.sh/", allow: "" },
    { prefix: "https://www.google.com/maps/embed?pb=", allow: "fullscreen" },
    { prefix: "https://w.soundcloud.com/player/?url=", allow: "autoplay" },
  ];
  var TWEET_SCRIPT = "https://platform.twitter.com/widgets.js";

  function frameFor(src) {
    for (var i = 0; i < FRAMES.length; i++) {
      if (src.indexOf(FRAMES[i].prefix) === 0) return FRAMES[i];
    }
    return null;
  }

  function loadFrame(frame) {
    var src = frame.dataset.embedSrc || "";
    var known = frameFor(src);
    if (!known) return; // only the frames our server writes
    var player = document.createElement("iframe");
    player.src = src;
    player.title = frame.dataset.embedTitle || t("embedded", "Embedded content");
    if (known.allow) player.allow = known.allow;
    player.referrerPolicy = "strict-origin-when-cross-origin";
    player.allowFullscreen = known.allow.indexOf("fullscreen") !== -1;
    frame.replaceChildren(player);
    frame.dataset.active = "true";
    player.focus();
  }

  function showTweet(card) {
    if (card.dataset.active) return;
    card.dataset.active = "true";
    card.classList.add("twitter-tweet");
    var widgets = window.twttr && window.twttr.widgets;
    if (widgets) {
      widgets.load(card.parentElement);
      return;
    }
    if (!document.querySelector('script[src="' + TWEET_SCRIPT + '"]')) {
      var script = document.createElement("script");
      script.src = TWEET_SCRIPT;
      script.async = true;
      document.head.appendChild(script);
    }
  }

  function offerTweets(root) {
    root.querySelectorAll(".embed-tweet:not([data-offered])").forEach(function (card) {
      card.dataset.offered = "true";
      var button = document.createElement("button");
      button.type = "button";
      button.className = "embed-activate embed-activate-tweet";
      button.textContent = t("showPostX", "Show the post from X");
      card.appendChild(button);
    });
  }

  function activateAll(root) {
    root.querySelectorAll(".embed-frame[data-embed-src]:not([data-active])").forEach(loadFrame);
    root.querySelectorAll(".embed-tweet").forEach(showTweet);
  }

  function autoload() {
    var host = document.querySelector("[data-embeds]");
    return host && host.dataset.embeds === "auto";
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest(".embed-activate");
    if (!button) return;
    var frame = button.closest(".embed-frame[data-embed-src]");
    if (frame) return loadFrame(frame);
    var card = button.closest(".embed-tweet");
    if (card) {
      button.remove();
      showTweet(card);
    }
  });

  function prepare(root) {
    if (autoload()) activateAll(root);
    else offerTweets(root);
  }

  // Entries that arrive live get the same treatment as those in the first page.
  new MutationObserver(function (changes) {
    changes.forEach(function (change) {
      change.addedNodes.forEach(function (node) {
        if (node.nodeType === 1) prepare(node);
      });
    });
  }).observe(document.body, { childList: true, subtree: true });
  prepare(document);
})();
