// The reader scripts' words in the page's language. A page in another language than English
// carries them as JSON (templates/_reader_strings.html); an English page carries none, and each
// script's own English is used. "{n}"-style names are filled in by fill().
// A story's fragment on another site's page (public/fragment.py) carries its own words and
// language on its root (data-words, lang): every function takes an optional element `where`,
// and the words and language of the fragment holding it win over the host page's.
let table = null;
const fragments = new WeakMap();

// The fragment root holding `where`, if it is in one.
function fragmentOf(where) {
  return where && where.closest ? where.closest("[data-words]") : null;
}

/** Every word for `where` (an empty object on an English page or fragment). */
export function strings(where = null) {
  const fragment = fragmentOf(where);
  if (fragment) {
    if (!fragments.has(fragment)) {
      let words = {};
      try {
        words = JSON.parse(fragment.dataset.words) || {};
      } catch (error) {
        words = {};
      }
      fragments.set(fragment, words);
    }
    return fragments.get(fragment);
  }
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

/** The language of `where`'s fragment, else the page's (its <html lang>), "en" if none. */
export function pageLanguage(where = null) {
  const fragment = fragmentOf(where);
  return (fragment && fragment.lang) || document.documentElement.lang || "en";
}

/** Whether `where` (the page by default) speaks another language than the scripts' English. */
export function translated(where = null) {
  return Object.keys(strings(where)).length > 0;
}

/** The words for `key` in the language of `where` (the page's by default), or `english`. */
export function t(key, english, where = null) {
  const text = strings(where)[key];
  return typeof text === "string" ? text : english;
}

// One of each by language: a fragment may speak another language than the page around it.
const plurals = new Map();
const numbers = new Map();

/** The words for a count in the language of `where`, its {n} unfilled (English's if none). */
export function pluralForm(key, count, englishOne = "{n}", englishOther = "{n}", where = null) {
  const forms = strings(where)[key];
  if (!forms || typeof forms !== "object") return count === 1 ? englishOne : englishOther;
  // Made only on a translated page, and only once a count needs it (it loads ICU's data).
  const language = pageLanguage(where);
  if (!plurals.has(language)) plurals.set(language, new Intl.PluralRules(language));
  return forms[plurals.get(language).select(count)] || forms.other || englishOther;
}

/** The words for a count, filled in: the language's plural form, or English's. */
export function tn(key, count, englishOne = "{n}", englishOther = "{n}", where = null) {
  return fill(pluralForm(key, count, englishOne, englishOther, where),
              { n: formatNumber(count, where) });
}

/** A number as the language of `where` writes it, with Western digits (as the server does). */
export function formatNumber(value, where = null) {
  const language = pageLanguage(where);
  if (!numbers.has(language)) numbers.set(language, new Intl.NumberFormat(language + "-u-nu-latn"));
  return numbers.get(language).format(value);
}

const percents = new Map();

/** A whole percentage (0-100) as the language of `where` writes it ("50 %" in French). */
export function formatPercent(share, where = null) {
  if (!translated(where)) return share + "%";
  const language = pageLanguage(where);
  if (!percents.has(language)) {
    percents.set(language, new Intl.NumberFormat(language + "-u-nu-latn", { style: "percent" }));
  }
  return percents.get(language).format(share / 100);
}

/** Put values into a message's {names}. */
export function fill(text, values) {
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}
