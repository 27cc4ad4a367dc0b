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

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL(event.notification.data && event.notification.data.url || "/",
                         self.location.origin);
  if (target.origin !== self.location.origin) return;  // only our own pages
  event.waitUntil((async () => {
    const open = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const client of open) {
      if (client.url === target.href && "focus" in client) return client.focus();
    }
    return self.clients.openWindow(target.href);
  })());
});
