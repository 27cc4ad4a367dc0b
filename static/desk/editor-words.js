// Quill's own words (its toolbar's names, the heading picker, the link tooltip) in the desk's
// language: Quill writes them in English, as aria-labels and as CSS content, so they are set here
// from text.js, the tooltip's through CSS custom properties that desk.css reads.
import { text } from "./text.js";

const BUTTONS = [
  [".ql-bold", () => text("Bold")],
  [".ql-italic", () => text("Italic")],
  [".ql-link", () => text("Link")],
  ['.ql-list[value="bullet"]', () => text("Bulleted list")],
  ['.ql-list[value="ordered"]', () => text("Numbered list")],
  [".ql-blockquote", () => text("Quote")],
  [".ql-clean", () => text("Remove formatting")],
];

function headingNames() {
  return { "": text("Normal"), 2: text("Heading 2"), 3: text("Heading 3"), 4: text("Heading 4") };
}

function nameHeadings(toolbar) {
  const picker = toolbar.querySelector(".ql-picker.ql-header");
  if (!picker) return;
  const names = headingNames();
  // Quill shows an item's data-label when it has one, and copies the chosen item's to the label.
  picker.querySelectorAll(".ql-picker-item").forEach((item) => {
    item.setAttribute("data-label", names[item.getAttribute("data-value") || ""] || "");
  });
  const label = picker.querySelector(".ql-picker-label");
  if (!label) return;
  label.setAttribute("aria-label", text("Heading"));
  const chosen = picker.querySelector(".ql-picker-item.ql-selected");
  label.setAttribute("data-label", chosen ? chosen.getAttribute("data-label") : names[""]);
}

function nameTooltip() {
  const words = {
    "--desk-ql-visit-url": text("Visit URL:"),
    "--desk-ql-enter-link": text("Enter link:"),
    "--desk-ql-edit": text("Edit"),
    "--desk-ql-save": text("Save"),
    "--desk-ql-remove": text("Remove"),
  };
  Object.keys(words).forEach((name) => {
    // A CSS string: JSON's quoting and escapes are CSS's too.
    document.documentElement.style.setProperty(name, JSON.stringify(words[name]));
  });
}

/** Name the editor's toolbar and tooltip in the desk's language. */
export function nameEditorParts(quill) {
  const toolbar = quill.getModule("toolbar");
  const container = toolbar && toolbar.container;
  if (container) {
    BUTTONS.forEach(([selector, name]) => {
      container.querySelectorAll(selector).forEach((button) => {
        button.setAttribute("aria-label", name());
      });
    });
    nameHeadings(container);
  }
  nameTooltip();
}
