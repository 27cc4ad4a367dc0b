// A post on X pasted as a link alone makes a thin card (handle and date): X cannot be asked
// from here. The composer asks the journalist for the post's text and author instead, and sends
// them as X's own embed code would (a quote of the text, "— Author (@handle)", the link), which
// the server turns into the same card with text and author. editor.js calls it when the editor
// is filled (extract) and when its text is sent (apply).
import { text } from "./text.js";

const POST = /^https?:\/\/(?:www\.|mobile\.)?(?:twitter\.com|x\.com)\/(\w{1,15})\/status(?:es)?\/\d{1,20}(?:[/?#]\S*)?$/i;
// A paragraph holding nothing but a post's address, as text or as a link to itself.
const LONE_LINK = /<p>\s*(?:<a\b[^>]*\bhref="([^"]+)"[^>]*>)?\s*(https?:\/\/[^\s<"]+)\s*(?:<\/a>)?\s*<\/p>/gi;
let details = {}; // address -> {text, author}
let fields = {}; // address -> its fieldset
let count = 0;

function handleOf(url) {
  var match = url.match(POST);
  return match ? match[1] : "";
}

function escapeHtml(text) {
  var div = document.createElement("div");
  div.textContent = text;
  return div.innerHTML;
}

function quoteMarkup(url, post) {
  var paragraphs = post.text.trim().split(/\n\s*\n/).filter(Boolean).map(function (chunk) {
    return "<p>" + escapeHtml(chunk.trim()).replace(/\n/g, "<br>") + "</p>";
  }).join("");
  var byline = post.author.trim() ? "\u2014 " + escapeHtml(post.author.trim()) + " (@" + handleOf(url) + ") " : "";
  var href = escapeHtml(url).replace(/"/g, "&quot;");
  return "<blockquote>" + paragraphs + byline + '<a href="' + href + '">' + escapeHtml(url) + "</a></blockquote>";
}

function textOf(paragraph) {
  var copy = paragraph.cloneNode(true);
  copy.querySelectorAll("br").forEach(function (br) {
    br.replaceWith("\n");
  });
  return copy.textContent;
}

// What X's code (or our own quote, on the edit page) says of a post: its text and author.
function read(quote) {
  var links = quote.querySelectorAll("a[href]");
  var url = links.length ? links[links.length - 1].getAttribute("href") : "";
  if (!POST.test(url || "")) return null;
  var text = Array.prototype.map.call(quote.querySelectorAll(":scope > p"), textOf)
    .join("\n\n").trim();
  var byline = Array.prototype.filter.call(quote.childNodes, function (node) {
    return node.nodeType === Node.TEXT_NODE;
  }).map(function (node) {
    return node.textContent;
  }).join("");
  var author = byline.match(/^[\s\u2014\u2013-]*(.*?)\s*\(@\w{1,15}\)\s*$/);
  return { url: url, text: text, author: author ? author[1].trim() : "" };
}

function remember(post) {
  if (post && (post.text || post.author)) details[post.url] = { text: post.text, author: post.author };
}

/* Called by editor.js before loading HTML into the editor: quotes of posts become their
   address on its own line (what the editor can hold), their text and author go to the fields. */
export function extract(fragment) {
  Array.prototype.forEach.call(fragment.querySelectorAll("blockquote"), function (quote) {
    var post = read(quote);
    if (!post) return;
    remember(post);
    var line = document.createElement("p");
    line.textContent = post.url;
    quote.replaceWith(line);
  });
}

// Called by editor.js when X's embed code is pasted: keep what it says beside the address.
export function rememberPasted(code) {
  var quote = new DOMParser().parseFromString(code, "text/html").querySelector("blockquote");
  if (quote) remember(read(quote));
}

function field(fieldset, kind, labelText, tag, url) {
  count += 1;
  var id = "post-" + kind + "-" + count;
  var label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = labelText;
  var input = document.createElement(tag);
  input.id = id;
  input.className = "post-" + kind;
  if (tag === "textarea") input.rows = 3;
  else input.type = "text";
  input.value = (details[url] || {})[kind] || "";
  input.addEventListener("input", function () {
    var post = details[url] || { text: "", author: "" };
    post[kind] = input.value;
    details[url] = post;
  });
  input.addEventListener("change", function () {
    var preview = document.getElementById("preview-button");
    if (preview && !preview.hidden) preview.click(); // show the card as readers will get it
  });
  var wrap = document.createElement("div");
  wrap.className = "field";
  wrap.append(label, input);
  fieldset.append(wrap);
}

function fieldsetFor(url) {
  var fieldset = document.createElement("fieldset");
  fieldset.className = "post-details";
  var legend = document.createElement("legend");
  legend.textContent = text("The post by @{handle} on X", { handle: handleOf(url) });
  var hint = document.createElement("p");
  hint.className = "field-hint";
  hint.textContent = text("The card shows only the handle and date unless you add the post's words " +
    "and author here (or paste X's embed code instead of the link).");
  fieldset.append(legend, hint);
  field(fieldset, "text", text("Post text"), "textarea", url);
  field(fieldset, "author", text("Author"), "input", url);
  return fieldset;
}

// One set of fields per post address alone on its line; fields of removed lines go.
function showFields(form, urls) {
  var box = document.getElementById("post-details");
  if (!box) {
    var body = form.querySelector("#body");
    var bodyField = body && body.closest(".field");
    if (!bodyField || !urls.length) return;
    box = document.createElement("div");
    box.id = "post-details";
    bodyField.insertAdjacentElement("afterend", box);
  }
  Object.keys(fields).forEach(function (url) {
    if (urls.indexOf(url) === -1) {
      fields[url].remove();
      delete fields[url];
    }
  });
  urls.forEach(function (url) {
    if (!fields[url]) {
      fields[url] = fieldsetFor(url);
      box.append(fields[url]);
    }
  });
}

/* Called by editor.js with the editor's HTML as it is sent: a post's lone address becomes the
   quote X's code would have made, when the journalist gave its text or author. */
export function apply(html, form) {
  var urls = [];
  var out = html.replace(LONE_LINK, function (whole, href, text) {
    var url = href || text;
    if (href && href !== text) return whole;
    if (!POST.test(url)) return whole;
    url = url.replace(/&amp;/g, "&");
    if (urls.indexOf(url) === -1) urls.push(url);
    var post = details[url];
    return post && (post.text.trim() || post.author.trim()) ? quoteMarkup(url, post) : whole;
  });
  if (form) showFields(form, urls);
  return out;
}

// Called when an entry has been sent: the next one starts with no post details.
export function clear() {
  details = {};
  Object.keys(fields).forEach(function (url) {
    fields[url].remove();
  });
  fields = {};
}
