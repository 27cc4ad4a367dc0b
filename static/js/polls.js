// Polls on the reader page and the embed: vote buttons on open polls, one vote per browser (a
// random voter token kept in localStorage, and the polls it voted in), and the bars moved by
// each vote's answer and by poll.updated events. The server renders the results
// (templates/_entry.html); this adds only what needs a script.

import { fill, formatNumber, formatPercent, pluralForm, t, tn, translated } from "./strings.js";

const TOKEN_KEY = "liveblog:voter";
const VOTED_KEY = "liveblog:voted";
// Where storage is blocked (a third-party frame), one token per page load: a reload votes again,
// which the docs say plainly (docs/api.md, "Polls").
let memoryToken = null;
const memoryVoted = {};

function storage() {
  try {
    return window.localStorage;
  } catch (error) {
    return null;
  }
}

/** This browser's voter token: 32 random URL-safe characters, made once and kept. */
function voterToken() {
  const store = storage();
  let token = store ? store.getItem(TOKEN_KEY) : memoryToken;
  if (!token || !/^[A-Za-z0-9_-]{16,64}$/.test(token)) {
    const bytes = new Uint8Array(24);
    window.crypto.getRandomValues(bytes);
    token = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_");
    try {
      if (store) store.setItem(TOKEN_KEY, token);
    } catch (error) {
      // storage full or refused: this page load keeps the token
    }
    memoryToken = token;
  }
  return token;
}

function votedIn() {
  const store = storage();
  try {
    return { ...memoryVoted, ...JSON.parse((store && store.getItem(VOTED_KEY)) || "{}") };
  } catch (error) {
    return { ...memoryVoted };
  }
}

function rememberVote(pollId, option) {
  memoryVoted[pollId] = option;
  const store = storage();
  try {
    if (store) store.setItem(VOTED_KEY, JSON.stringify({ ...votedIn(), [pollId]: option }));
  } catch (error) {
    // kept for this page load only
  }
}

function plural(count) {
  return count === 1 ? "vote" : "votes";
}

function say(section, text) {
  let message = section.querySelector(".poll-message");
  if (!message) {
    message = document.createElement("p");
    message.className = "poll-message";
    message.setAttribute("role", "status");
    section.appendChild(message);
  }
  message.textContent = text;
}

/** Show a poll's tallies (from a vote's answer or a poll.updated event); never go backwards. */
export function showPoll(poll) {
  const section = document.getElementById("poll-" + poll.id);
  if (!section) return;
  const total = poll.tallies.reduce((sum, count) => sum + count, 0);
  const shown = parseInt(section.dataset.total || "-1", 10);
  const wasClosed = section.dataset.closed === "true";
  // A frame written before this browser's own vote can arrive after the vote's answer.
  if (total < shown && poll.closed === wasClosed) return;
  section.dataset.total = String(total);
  section.querySelectorAll(".poll-option").forEach((item) => {
    const count = poll.tallies[parseInt(item.dataset.option, 10)] || 0;
    const share = total ? Math.round((count * 100) / total) : 0;
    const meter = item.querySelector(".poll-bar");
    meter.value = share;
    meter.textContent = formatPercent(share, section);
    item.querySelector(".poll-share").textContent = formatPercent(share, section);
    item.querySelector(".poll-count").textContent = translated(section)
      ? tn("voteCount", count, "{n}", "{n}", section)
      : "(" + formatNumber(count, section) + " " + plural(count) + ")";
  });
  const status = section.querySelector(".poll-status");
  if (poll.closed) {
    close(section);
    status.textContent = translated(section)
      ? tn("pollClosed", total, "{n}", "{n}", section)
      : "Poll closed. Final results: " + formatNumber(total, section) + " " + plural(total) + ".";
  } else if (translated(section)) {
    showTotal(status, total);
  } else {
    const counted = section.querySelector(".poll-total");
    if (counted) counted.textContent = formatNumber(total, section);
    counted.nextSibling.textContent = " " + plural(total) + counted.nextSibling.textContent
      .replace(/^\s*votes?/, "");
  }
}

// A translated page's "N votes so far[; voting closes <time>].": its words written again
// around the count and the time the server wrote.
function showTotal(status, total) {
  const time = status.querySelector("time");
  const counted = document.createElement("span");
  counted.className = "poll-total";
  counted.textContent = formatNumber(total, status);
  const words = pluralForm(time ? "votesSoFarCloses" : "votesSoFar", total, "{n}", "{n}", status);
  const parts = { n: counted, time };
  status.replaceChildren(...words.split(/(\{\w+\})/).filter(Boolean).map((piece) => {
    const name = /^\{(\w+)\}$/.exec(piece);
    return name && parts[name[1]] ? parts[name[1]] : document.createTextNode(piece);
  }));
}

function close(section) {
  section.dataset.closed = "true";
  section.classList.add("poll--closed");
  section.querySelectorAll(".poll-vote").forEach((button) => button.remove());
}

function markVoted(section, option) {
  section.querySelectorAll(".poll-vote").forEach((button) => button.remove());
  const item = section.querySelector('.poll-option[data-option="' + option + '"]');
  if (item) item.classList.add("poll-option--mine");
}

async function vote(section, option) {
  const pollId = section.dataset.pollId;
  section.querySelectorAll(".poll-vote").forEach((button) => { button.disabled = true; });
  let answer = null;
  let status = 0;
  try {
    const response = await fetch("/api/polls/" + pollId + "/votes", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ option, voter: voterToken() }),
      credentials: "omit",
    });
    status = response.status;
    answer = await response.json();
  } catch (error) {
    status = 0;
  }
  if (status === 201) {
    rememberVote(pollId, option);
    markVoted(section, option);
    showPoll(answer.poll);
    say(section, t("voteCounted", "Thank you: your vote is counted."));
    return;
  }
  const message = answer && answer.error ? answer.error.message : "";
  if (status === 409 && /closed/.test(message)) {
    close(section);
  } else if (status === 409) {
    rememberVote(pollId, -1);
    markVoted(section, -1);
  } else {
    section.querySelectorAll(".poll-vote").forEach((button) => { button.disabled = false; });
  }
  say(section, (translated() ? "" : message) || t("voteFailed", "Your vote could not be sent; please try again."));
}

/** Give every open poll under root its vote buttons, unless this browser has voted in it. */
export function setUpPolls(root) {
  const voted = votedIn();
  root.querySelectorAll(".poll").forEach((section) => {
    if (section.dataset.closed === "true" || section.querySelector(".poll-vote")) return;
    const pollId = section.dataset.pollId;
    if (pollId in voted) {
      markVoted(section, voted[pollId]);
      return;
    }
    section.querySelectorAll(".poll-option").forEach((item) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "poll-vote";
      button.textContent = t("vote", "Vote");
      const answer = item.querySelector(".poll-answer");
      button.setAttribute("aria-label", fill(t("voteFor", "Vote: {answer}"), { answer: answer ? answer.textContent : "" }));
      button.addEventListener("click", () => vote(section, parseInt(item.dataset.option, 10)));
      item.appendChild(button);
    });
  });
}
