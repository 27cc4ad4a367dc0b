// The reader scripts' words in the page's language. A page in another language than English
// carries them as JSON (templates/_reader_strings.html); an English page carries none, and each
// script's own English is used. "{n}"-style names are filled in by fill().
let table = null;

/** Every word the page carries (an empty object on an English page). */
export function strings() {
  if (table === null) {
    const block = document.getElementById("reader-strings");
    try {
      table = block ? JSON.parse(block.textContent) : {};
    } catch (error) {
      table = {};
    }
  }
  return table;
}

/** The page's language (its <html lang>), "en" if it names none. */
export function pageLanguage() {
  return document.documentElement.lang || "en";
}

/** Whether the page speaks another language than the scripts' own English. */
export function translated() {
  return Object.keys(strings()).length > 0;
}

/** The words for `key` in the page's language, or `english`. */
export function t(key, english) {
  const text = strings()[key];
  return typeof text === "string" ? text : english;
}

let plurals = null;

/** The page language's words for a count, its {n} unfilled (English's if it has none). */
export function pluralForm(key, count, englishOne = "{n}", englishOther = "{n}") {
  const forms = strings()[key];
  if (!forms || typeof forms !== "object") return count === 1 ? englishOne : englishOther;
  // Made only on a translated page, and only once a count needs it (it loads ICU's data).
  if (plurals === null) plurals = new Intl.PluralRules(pageLanguage());
  return forms[plurals.select(count)] || forms.other || englishOther;
}

/** The words for a count, filled in: the page language's plural form, or English's. */
export function tn(key, count, englishOne = "{n}", englishOther = "{n}") {
  return fill(pluralForm(key, count, englishOne, englishOther), { n: formatNumber(count) });
}

let numbers = null;

/** A number as the page's language writes it, with Western digits (as the server does). */
export function formatNumber(value) {
  if (!translated()) return String(value);
  if (numbers === null) numbers = new Intl.NumberFormat(pageLanguage() + "-u-nu-latn");
  return numbers.format(value);
}

/** Put values into a message's {names}. */
export function fill(text, values) {
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}
