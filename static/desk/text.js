// The desk's words in the editor's language: the page hands them over in a JSON block
// (#desk-text, made by liveblog/desk/script_text.py), looked up by their English text, so a
// sentence the block lacks still reads in English. {name} in a sentence is filled from `values`.
let table = null;

function words() {
  if (table === null) {
    const block = document.getElementById("desk-text");
    try {
      table = block ? JSON.parse(block.textContent) : {};
    } catch (error) {
      table = {};
    }
  }
  return table;
}

/** The sentence in the desk's language, with {name} replaced by values[name]. */
export function text(english, values) {
  const found = words()[english];
  const sentence = typeof found === "string" ? found : english;
  return sentence.replace(/\{(\w+)\}/g, (whole, name) => {
    return values && name in values ? String(values[name]) : whole;
  });
}

/** The form of a counted word that fits count, in the page's language ("reader", "readers"). */
export function plural(english, englishPlural, count) {
  const forms = words()["plural:" + english] || {};
  let category = count === 1 ? "one" : "other";
  try {
    category = new Intl.PluralRules(document.documentElement.lang || "en").select(count);
  } catch (error) {
    // an old browser: English's rule
  }
  return forms[category] || forms.other || (count === 1 ? english : englishPlural);
}

/** Names joined as the page's language lists them ("A, B, C"; in Arabic "A، B"). */
export function list(names) {
  try {
    return new Intl.ListFormat(document.documentElement.lang || "en", { type: "unit" })
      .format(names);
  } catch (error) {
    return names.join(", ");
  }
}
