// "Notify me of key updates": subscribes this browser to the story's Web Push alerts. The
// permission is asked on the reader's click, never before. One push subscription serves every
// story (a browser has one per service worker), so whether this story's alerts are on is kept
// here, per story, in localStorage; the server keeps the (story, endpoint) pair and nothing else.
const box = document.getElementById("alerts");
const button = document.getElementById("alerts-button");
const status = document.getElementById("alerts-status");
const stored = `liveblog-alerts:${box ? box.dataset.subscriptionsUrl : ""}`;

function supported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

function remembered() {
  try {
    return localStorage.getItem(stored) === "on";
  } catch {
    return false;  // storage blocked: the button starts off, and still works
  }
}

// The status floats over the top of the entries (it moves nothing): it goes after a while.
const STATUS_MS = 8000;
let clearing = 0;

function tell(message) {
  status.textContent = message;
  clearTimeout(clearing);
  clearing = setTimeout(() => { status.textContent = ""; }, STATUS_MS);
}

function show(on, message) {
  button.setAttribute("aria-pressed", on ? "true" : "false");
  try {
    if (on) localStorage.setItem(stored, "on");
    else localStorage.removeItem(stored);
  } catch {
    // storage blocked: the state lasts as long as the page
  }
  if (message !== undefined) tell(message);
}

function keyBytes(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - text.length % 4) % 4);
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

async function subscription() {
  const registration = await navigator.serviceWorker.register(box.dataset.workerUrl, { scope: "/" });
  await navigator.serviceWorker.ready;
  const existing = await registration.pushManager.getSubscription();
  if (existing) return existing;
  const answer = await fetch(box.dataset.keyUrl, { headers: { Accept: "application/json" } });
  if (!answer.ok) throw new Error(`key: ${answer.status}`);
  const { key } = await answer.json();
  return registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
}

async function send(method, body) {
  const answer = await fetch(box.dataset.subscriptionsUrl, {
    method, headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  if (!answer.ok) throw new Error(`${method}: ${answer.status}`);
}

async function turnOn() {
  const permission = await Notification.requestPermission();
  if (permission !== "granted") {
    show(false, box.dataset.blocked);
    return;
  }
  const pushed = await subscription();
  await send("POST", pushed.toJSON());
  show(true, box.dataset.on);
}

async function turnOff() {
  const registration = await navigator.serviceWorker.getRegistration("/");
  const pushed = registration && await registration.pushManager.getSubscription();
  if (pushed) await send("DELETE", { endpoint: pushed.endpoint });
  show(false, box.dataset.off);
}

if (box && supported()) {
  box.hidden = false;
  if (remembered() && Notification.permission === "granted") show(true);
  button.addEventListener("click", async () => {
    if (button.getAttribute("aria-busy") === "true") return;
    button.setAttribute("aria-busy", "true");
    try {
      if (button.getAttribute("aria-pressed") === "true") await turnOff();
      else await turnOn();
    } catch (error) {
      tell(box.dataset.failed);
      console.warn("alerts:", error);
    } finally {
      button.removeAttribute("aria-busy");
    }
  });
}
