// The key-figures box at the top of the page and the embed: a story.updated frame carries the box
// as the server renders it (templates/_key_figures.html). The slot and its live region stay; the
// box inside is swapped and the region is given the box's one-sentence summary, so a screen
// reader hears each change once, and a frame that leaves the box as it was changes nothing.
import { fromHtml } from "./entry-list.js";
import { t } from "./strings.js";

/** Put the box from a story.updated frame's key_figures_html on the page. */
export function showKeyFigures(html) {
  const slot = document.getElementById("key-figures");
  if (!slot || typeof html !== "string") return;
  const next = fromHtml(html);
  if (!next || next.id !== "key-figures") return;
  const summary = next.dataset.summary || "";
  if (summary === (slot.dataset.summary || "")) return;
  slot.dataset.summary = summary;
  const box = slot.querySelector(".key-figures");
  const fresh = next.querySelector(".key-figures");
  if (box) box.remove();
  if (fresh) slot.prepend(fresh);
  const live = document.getElementById("key-figures-live");
  if (live) live.textContent = summary || t("figuresRemoved", "The key figures box was removed.");
}
