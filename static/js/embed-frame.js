// Inside the embed page: tells the page that framed it how tall the content is, as it changes,
// and what the frame is called in the story's language.
(function () {
  "use strict";

  if (window.parent === window) return; // opened on its own: nobody to tell

  var script = document.currentScript;
  // The frame's name and its language, so the host's iframe is announced in the story's words.
  var title = (script && script.getAttribute("data-frame-title")) || "";
  var lang = document.documentElement.lang;
  var dir = document.documentElement.dir || "ltr";
  var story = document.getElementById("story");
  var slug = story ? story.dataset.story : null;
  var lastHeight = -1;

  function postHeight() {
    // The root element's box follows the content, unlike scrollHeight, which never drops
    // below the frame's current height and so could only ever grow.
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === lastHeight) return;
    lastHeight = height;
    // The embedding page's origin is unknown, and a height and the public title tell it
    // nothing private.
    window.parent.postMessage(
      { type: "liveblog:height", slug: slug, height: height, title: title, lang: lang, dir: dir },
      "*"
    );
  }

  if ("ResizeObserver" in window) {
    new ResizeObserver(postHeight).observe(document.documentElement);
  }
  window.addEventListener("load", postHeight);
  postHeight();
})();
