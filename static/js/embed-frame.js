// Inside the embed page: tells the page that framed it how tall the content is, as it changes.
(function () {
  "use strict";

  if (window.parent === window) return; // opened on its own: nobody to tell

  var story = document.getElementById("story");
  var slug = story ? story.dataset.story : null;
  var lastHeight = -1;

  function postHeight() {
    // The root element's box follows the content, unlike scrollHeight, which never drops
    // below the frame's current height and so could only ever grow.
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === lastHeight) return;
    lastHeight = height;
    // The embedding page's origin is unknown, and a height tells it nothing private.
    window.parent.postMessage({ type: "liveblog:height", slug: slug, height: height }, "*");
  }

  if ("ResizeObserver" in window) {
    new ResizeObserver(postHeight).observe(document.documentElement);
  }
  window.addEventListener("load", postHeight);
  postHeight();
})();
