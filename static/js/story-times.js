// Times on the reader page: each entry's time relative to now ("5 minutes ago"), and "Last
// updated" in the story's zone after a live update.

import { pageLanguage, strings, translated } from "./strings.js";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

// "Last updated" reads as the server writes it: "16:05 GMT, 30 Nov 2026", in the story's zone
// (the zone its time labels use), never in the reader's own. The zone's names come from the
// server, by UTC offset: browsers have their own ("GMT-5" for "EST").
// Made at the first live update, not at load: loading a zone's rules takes 25-60 ms of the
// main thread, which Lighthouse counts as blocking time on a phone.
let storyClockMade = false;
let storyClockFormat = null;

function storyClock(story) {
  if (!storyClockMade) {
    storyClockMade = true;
    try {
      storyClockFormat = new Intl.DateTimeFormat("en-US", {
        timeZone: story.dataset.timezone, hour: "2-digit", minute: "2-digit", hourCycle: "h23",
        day: "2-digit", month: "numeric", year: "numeric", timeZoneName: "longOffset",
      });
    } catch (error) {
      storyClockFormat = null; // a zone this browser does not know: keep the server's text
    }
  }
  return storyClockFormat;
}

function storyTime(story, when) {
  const zoneNames = JSON.parse(story.dataset.zoneNames || "{}");
  const part = {};
  storyClock(story).formatToParts(when).forEach((p) => { part[p.type] = p.value; });
  // "GMT-05:00", or "GMT" at offset zero.
  const offset = /GMT([+-])(\d\d):(\d\d)/.exec(part.timeZoneName);
  const minutes = offset ? (offset[1] === "-" ? -1 : 1) * (offset[2] * 60 + +offset[3]) : 0;
  const zone = zoneNames[minutes] || part.timeZoneName;
  if (translated()) return localTime(part, zone);
  return part.hour + ":" + part.minute + " " + zone + ", " +
    part.day + " " + MONTHS[parseInt(part.month, 10) - 1] + " " + part.year;
}

// A translated page's time: the server's own format in that language (story_time), its
// month names and zone words, so a time the script writes reads like the server's.
function localTime(part, zone) {
  const words = strings();
  const month = parseInt(part.month, 10) - 1;
  const fields = {
    H: part.hour, M: part.minute, d: part.day, Y: part.year, "%": "%",
    b: (words.monthsShort || MONTHS)[month], B: (words.months || MONTHS)[month],
    Z: (words.zones || {})[zone] || zone,
  };
  return (words.clock || "%H:%M %Z, %d %b %Y").replace(/%(.)/g, (whole, name) => fields[name] ?? whole);
}

/** Set the story's "Last updated" to now. */
export function markUpdated(story) {
  const updated = document.getElementById("story-updated");
  if (!updated || !storyClock(story)) return;
  const now = new Date();
  updated.setAttribute("datetime", now.toISOString());
  updated.textContent = storyTime(story, now);
}

// In English, as the page is written, and by hand: Intl.RelativeTimeFormat loads ICU's locale
// data first, 30-40 ms of the main thread at load on a desktop, four times that on a phone.
// One per language: a story's fragment may speak another language than the page around it.
const relative = new Map();

function relativeWords(value, unit, where) {
  if (translated(where)) {
    // A page (or fragment) in another language: its words from Intl, made once per language.
    const language = pageLanguage(where);
    if (!relative.has(language)) {
      relative.set(language, new Intl.RelativeTimeFormat(language + "-u-nu-latn", { numeric: "auto" }));
    }
    return relative.get(language).format(value, unit);
  }
  if (value === 0) return "now";
  if (unit === "day" && value === -1) return "yesterday";
  const count = Math.abs(value) + " " + unit + (Math.abs(value) === 1 ? "" : "s");
  return value < 0 ? count + " ago" : "in " + count;
}

function relativeText(when, where) {
  const seconds = Math.round((when.getTime() - Date.now()) / 1000);
  const steps = [[60, "second"], [60, "minute"], [24, "hour"], [7, "day"]];
  let value = seconds;
  for (const [size, unit] of steps) {
    if (Math.abs(value) < size) return relativeWords(value, unit, where);
    value = Math.round(value / size);
  }
  return null; // over a week: the date reads better
}

/** Write the entry times under root as relative times, the server's text as their title. */
export function refreshTimes(root) {
  root.querySelectorAll("time.entry-time").forEach((time) => {
    if (!time.dataset.absolute) time.dataset.absolute = time.textContent;
    const text = relativeText(new Date(time.getAttribute("datetime")), time);
    time.textContent = text || time.dataset.absolute;
    time.title = time.dataset.absolute;
  });
}
