// A refused stale save (409/412): show their version and mine, both as readers would see them,
// and let the journalist choose. Nothing is saved over a colleague's text without a choice:
// the form keeps the version it was based on until "Use mine" or a merge moves it on.
import { text } from "./text.js";

const form = document.getElementById("compose");

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

function column(className, title, version) {
  const box = element("div", className);
  box.append(element("h3", "", title));
  if (version.headline) {
    const line = element("p");
    line.append(element("strong", "", version.headline));
    box.append(line);
  }
  const text = element("div", "conflict-text entries");
  text.innerHTML = version.body_html || ""; // cleaned and rendered by the server
  box.append(text);
  return box;
}

function say(text, kind) {
  const status = document.getElementById("compose-status");
  if (!status) return;
  status.textContent = text;
  status.className = "compose-status" + (kind ? " " + kind : "");
}

function button(label, id, className, onClick) {
  const node = element("button", "button " + className, label);
  node.type = "button";
  node.id = id;
  node.addEventListener("click", onClick);
  return node;
}

function showVersion(version) {
  const heading = document.getElementById("entry-version");
  if (heading) heading.textContent = String(version);
}

function load(text) {
  form.dispatchEvent(new CustomEvent("desk:load-text", { detail: text }));
}

function showChoices(error) {
  const theirs = error.theirs;
  const yours = error.yours;
  if (!theirs || !yours) return;
  const old = document.getElementById("conflict-js");
  if (old) old.remove();
  showVersion(theirs.version); // the heading says which version the entry is at now
  const box = element("div", "conflict");
  box.id = "conflict-js";
  box.setAttribute("role", "alert");
  box.append(
    element("h2", "", text("Someone saved this entry while you were editing")),
    element("p", "", text("It is now at version {version}. Nothing of yours is lost: choose what to keep.",
                          { version: theirs.version })),
  );
  const columns = element("div", "conflict-columns");
  columns.append(column("conflict-theirs", text("Their version"), theirs),
                 column("conflict-yours", text("Your version"), yours));
  const choices = element("div", "conflict-choices");
  choices.append(
    button(text("Keep theirs"), "keep-theirs", "", () => {
      box.remove();
      load({ headline: theirs.headline, body: theirs.body, version: theirs.version });
      say(text("Their version is in the form; nothing of yours was saved."), "ok");
    }),
    button(text("Use mine"), "use-mine", "danger", () => {
      box.remove();
      load({ version: theirs.version }); // saved against theirs: a third save is refused again
      form.requestSubmit(document.getElementById("publish"));
    }),
    button(text("Edit a merge"), "edit-merge", "primary", () => {
      box.remove();
      load({ headline: yours.headline || theirs.headline, body: error.merged,
             version: theirs.version });
      say(text("Their version and yours are merged in the form: edit it, then save."), "ok");
    }),
  );
  box.append(columns, choices);
  form.before(box);
  box.scrollIntoView({ block: "nearest" });
  choices.firstElementChild.focus();
}

if (form) {
  form.addEventListener("desk:conflict", (event) => showChoices(event.detail || {}));
}
