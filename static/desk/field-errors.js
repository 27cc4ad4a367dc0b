// What a refused send says, shown where it applies: an error at each field it names, and, for a
// publishing time that happens twice (the clocks go back), the question which one.
import { text } from "./text.js";

/** Take away the errors the last refusal put at the fields. */
export function clearFieldErrors(state) {
  state.form.querySelectorAll(".js-field-error").forEach((node) => {
    node.remove();
  });
  state.form.querySelectorAll(".field--js-error").forEach((field) => {
    field.classList.remove("field--error", "field--js-error");
  });
}

/** Put each message in front of its field's hint: {name: message}. */
export function showFieldErrors(state, fields) {
  Object.keys(fields).forEach((name) => {
    const input = state.form.querySelector('[name="' + CSS.escape(name) + '"]');
    const field = input && input.closest(".field");
    if (!field) return;
    field.classList.add("field--error", "field--js-error");
    const message = document.createElement("strong");
    message.className = "js-field-error";
    message.textContent = fields[name] + " ";
    let hint = field.querySelector(".field-hint");
    if (!hint) {
      hint = document.createElement("p");
      hint.className = "field-hint";
      field.append(hint);
    }
    hint.prepend(message);
  });
}

/** Take away the question which time was meant. */
export function removeTimeChoices() {
  const choices = document.getElementById("time-choices");
  if (choices) choices.remove();
}

/** Ask which of the server's choices ({offset, label}) the publishing time means. */
export function showTimeChoices(state, choices) {
  removeTimeChoices();
  const input = state.form.querySelector('[name="scheduled_for"]');
  const row = input && input.closest(".field-row");
  if (!row) return;
  const fieldset = document.createElement("fieldset");
  fieldset.className = "field time-choices";
  fieldset.id = "time-choices";
  const legend = document.createElement("legend");
  legend.textContent = text("That time happens twice (the clocks go back): which one?");
  fieldset.append(legend);
  choices.forEach((choice) => {
    const label = document.createElement("label");
    const radio = document.createElement("input");
    radio.type = "radio";
    radio.name = "scheduled_offset";
    radio.value = choice.offset;
    label.append(radio, " " + choice.label);
    fieldset.append(label);
  });
  row.insertAdjacentElement("afterend", fieldset);
}

/** A new time needs its own answer: a choice made for another time must not linger. */
export function setUpTimeChoices(state) {
  const input = state.form.querySelector('[name="scheduled_for"]');
  if (input) input.addEventListener("input", removeTimeChoices);
}
