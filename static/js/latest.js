// The LATEST box: a story's key entries, highest key order first. The story page (live.js) and a
// host site's fragment (fragment-live.js) keep theirs with this one function.

/** Put a key entry in its place in the box, or take it out; hide the box when it is empty. */
export function showKeyEntry(box, entry, deleted, href) {
  const latest = box ? box.querySelector("ul") : null;
  if (!latest) return;
  let item = latest.querySelector('li[data-entry-id="' + entry.id + '"]');
  if (item) item.remove();
  if (!deleted && entry.pinned) {
    item = document.createElement("li");
    item.dataset.entryId = String(entry.id);
    item.dataset.keyOrder = String(entry.key_order || 0);
    const link = document.createElement("a");
    link.href = href;
    link.textContent = entry.headline || entry.label;
    item.appendChild(link);
    const after = Array.prototype.find.call(latest.children, (other) => {
      return parseInt(other.dataset.keyOrder, 10) < entry.key_order;
    });
    latest.insertBefore(item, after || null);
  }
  box.hidden = latest.children.length === 0;
}
