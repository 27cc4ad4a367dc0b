// The alerts' service worker (static/js/alerts.js registers it at /alerts-sw.js, scope "/").
// It does one job: show a key update the server pushed, and open its entry when clicked.
// It caches nothing and answers no fetch: the page works exactly as it does without it.

self.addEventListener("push", (event) => {
  let alert = {};
  try {
    alert = event.data ? event.data.json() : {};
  } catch {
    return;  // not ours: the server only sends {title, body, url}
  }
  if (typeof alert.title !== "string" || typeof alert.url !== "string") return;
  event.waitUntil(self.registration.showNotification(alert.title, {
    body: typeof alert.body === "string" ? alert.body : "",
    data: { url: alert.url },
    tag: alert.url,  // the same entry twice replaces, never stacks
    icon: "/static/favicon.svg",
  }));
});

// A worker controls no page until that page reloads; claiming them as it starts lets a click
// take the reader's open story tab (navigate() works only on a page this worker controls). With
// no fetch handler, controlling a page changes nothing else about how it loads.
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

// "/stories/<slug>" of an address of ours, or null.
function storyOf(address) {
  const found = new URL(address).pathname.match(/^\/stories\/[^/]+/);
  return found ? found[0] : null;
}

// The entry's deep link in the reader's open tab of that story if there is one (one tab, not a
// second copy of the story), else in a new tab.
async function openEntry(target) {
  const story = storyOf(target.href);
  const open = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const tab = story && open.find((client) => client.frameType === "top-level"
                                             && storyOf(client.url) === story);
  if (tab) {
    // Focus first: the click's leave to raise a window lasts only a moment.
    await tab.focus().catch(() => null);
    try {
      if (await tab.navigate(target.href)) return undefined;
    } catch {
      // not controlled by this worker (or gone): a new tab instead
    }
  }
  return self.clients.openWindow(target.href);
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL(event.notification.data && event.notification.data.url || "/",
                         self.location.origin);
  if (target.origin !== self.location.origin) return;  // only our own pages
  event.waitUntil(openEntry(target));
});
