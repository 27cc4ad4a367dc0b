// Small helpers every desk feature uses: elements and form fields, the CSRF token, requests whose
// answers (JSON, a refusal page, a redirect to the login) come back in one shape, and messages.
import { text } from "./text.js";

/** The element with this id, or null. */
export function byId(id) {
  return document.getElementById(id);
}

/** The page's CSRF token, for forms the script builds. */
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

/** A function that runs fn once calls have stopped for delay ms. */
export function debounce(fn, delay) {
  let timer = null;
  return function () {
    clearTimeout(timer);
    timer = setTimeout(fn, delay);
  };
}

/** The first element of a fragment of server-rendered HTML. */
export function fromHtml(html) {
  const template = document.createElement("template");
  template.innerHTML = html.trim();
  return template.content.firstElementChild;
}

/** The value of the form field with this id (a checkbox's: checked), or undefined. */
export function fieldValue(name) {
  const field = byId(name);
  if (!field) return undefined;
  return field.type === "checkbox" ? field.checked : field.value;
}

/** Set the form field with this id; undefined leaves it as it is. */
export function setFieldValue(name, value) {
  const field = byId(name);
  if (!field || value === undefined) return;
  if (field.type === "checkbox") field.checked = Boolean(value);
  else field.value = value;
}

function sessionMessage() {
  return text("Your session has ended. Log in again in another tab, then send again: your text is kept.");
}

function httpMessage(status) {
  const messages = {
    400: text("The form has expired. Reload the page to send it (your text is kept here)."),
    403: text("Your role may not do this."),
    404: text("That entry or story no longer exists."),
    413: text("That is too big to send (the server refused its size)."),
    429: text("Too many requests; wait a moment and try again."),
  };
  return messages[status] ||
    text("The server could not do that (HTTP {status}). Your text is kept.", { status: status });
}

// The desk answers JSON when asked; some refusals (CSRF, 403, 413) still come as pages,
// and an ended session redirects to the login page. Turn all of them into one shape.
function readAnswer(response) {
  const type = response.headers.get("Content-Type") || "";
  if (response.redirected && response.url.indexOf("/admin/login") !== -1) {
    return { ok: false, status: 401, data: { error: { message: sessionMessage() } } };
  }
  if (type.indexOf("application/json") === -1) {
    return { ok: false, status: response.status, data: { error: { message: httpMessage(response.status) } } };
  }
  return response.json().then((data) => {
    return { ok: response.ok, status: response.status, data: data || {} };
  }, () => {
    return { ok: false, status: response.status, data: { error: { message: httpMessage(response.status) } } };
  });
}

/** POST a body; resolves to {ok, status, data}, rejects only when no answer came at all. */
export function postJson(url, body) {
  return fetch(url, {
    method: "POST",
    body: body,
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  }).then(readAnswer);
}

/** What to tell the journalist about a refused request. */
export function errorMessage(answer) {
  const error = answer.data && answer.data.error;
  return (error && error.message) || httpMessage(answer.status);
}

/** One message at the top of the page, in place of the last. */
export function flash(text, kind) {
  const flashes = byId("flashes");
  if (!flashes) return;
  const line = document.createElement("p");
  line.className = "flash flash-" + kind;
  line.textContent = text;
  flashes.replaceChildren(line);
}

/** The composer's status line under its buttons. */
export function showStatus(state, text, kind) {
  if (!state.status) return;
  state.status.textContent = text;
  state.status.className = "compose-status" + (kind ? " " + kind : "");
}
