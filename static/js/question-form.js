// Readers' "Send us your question" form: a character count, the question sent as JSON to
// POST /api/stories/<slug>/questions, and the answer (thanks or what to fix) read out in the
// form's live region. Nothing is shown to other readers: the newsroom reads it first.
import { fill, formatNumber, t, translated } from "./strings.js";

const MAX_CHARS = 1000;
const NUMBER = new Intl.NumberFormat("en");

function countText(length) {
  const over = length - MAX_CHARS;
  if (translated()) {
    const words = over > 0 ? t("charsOver", "") : t("charCount", "");
    return fill(words, { n: formatNumber(over > 0 ? over : length), max: formatNumber(MAX_CHARS) });
  }
  if (over > 0) return `${NUMBER.format(over)} characters too many (at most ${NUMBER.format(MAX_CHARS)})`;
  return `${NUMBER.format(length)} of ${NUMBER.format(MAX_CHARS)} characters`;
}

function refusal(status, body) {
  const error = (body && body.error) || {};
  const fields = error.fields || {};
  const named = Object.entries(fields).map(([name, message]) => `${name === "text" ? "Your question" : `Your ${name}`} ${message}.`);
  // The API answers in English: a page in another language says its own words instead.
  if (named.length && !translated()) return named.join(" ");
  if (error.message && !translated()) return error.message;
  if (status === 429) return t("askTooMany", "Too many questions from here; please wait a minute and try again.");
  if (status === 413) return t("askTooLong", "That is too long to send.");
  return t("askFailed", "Your question could not be sent. Please try again.");
}

function setUp(section) {
  const form = section.querySelector("form");
  const text = form.elements.namedItem("text");
  const count = document.getElementById("ask-count");
  const result = document.getElementById("ask-result");
  const send = document.getElementById("ask-send");
  // Characters as the server counts them (code points), not UTF-16 units.
  const length = () => Array.from(text.value).length;
  const showCount = () => {
    count.textContent = countText(length());
  };
  text.addEventListener("input", showCount);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!text.value.trim()) {
      result.textContent = t("askEmpty", "Write your question first.");
      text.focus();
      return;
    }
    if (length() > MAX_CHARS) {
      result.textContent = countText(length()) + ".";
      text.focus();
      return;
    }
    const value = (name) => form.elements.namedItem(name).value;
    const body = { text: text.value, name: value("name"), email: value("email") };
    if (value("website")) body.website = value("website");
    send.disabled = true;
    result.textContent = t("askSending", "Sending…");
    fetch(form.dataset.url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    })
      .then((response) => response.json().catch(() => null).then((answer) => ({ response, answer })))
      .then(({ response, answer }) => {
        if (response.status === 202) {
          form.reset();
          showCount();
          result.textContent = (!translated() && answer && answer.message) ||
            t("askSent", "Thank you: your question has been sent.");
        } else {
          result.textContent = refusal(response.status, answer);
        }
      })
      .catch(() => {
        result.textContent = t("askOffline", "You seem to be offline; your question is kept here. Try again in a moment.");
      })
      .finally(() => {
        send.disabled = false;
      });
  });
}

const section = document.getElementById("ask");
if (section) setUp(section);
