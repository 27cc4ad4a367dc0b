"""Web Push in Chromium: a reader turns alerts on, an editor marks an entry key in the desk, and
the stand-in push service receives one message that decrypts to the entry's title and link."""

from __future__ import annotations

import json

import pytest
from browser_support import browser_tests
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import expect
from push_support import PushService, unb64url
from sqlalchemy import select
from test_desk_browser import desk_as, new_page, open_desk

from liveblog.alerts import Deliverer
from liveblog.extensions import db
from liveblog.models import PushSubscription

pytestmark = browser_tests
__all__ = ["new_page"]  # the fixture

SERVER = 5000  # ms: a round trip through the page or the desk, with room for a slow machine
ENDPOINT_PATH = "/push/chromium"

# Chromium's own pushManager.subscribe() asks Google's push service for an endpoint, and no
# push service is reachable here. So this one thing is replaced: subscribe() makes a real P-256
# key pair and auth secret with WebCrypto, as a browser does, and returns a subscription whose
# endpoint is the test's stand-in push service. Everything else is the page's own code: the
# button, the permission request, the service worker's registration, the POST of toJSON().
# The private key is left on window for the test to hand to the stand-in, which decrypts.
FAKE_SUBSCRIBE = """
(() => {
  const endpoint = %s;
  let made = null;
  const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  PushManager.prototype.subscribe = async function (options) {
    const pair = await crypto.subtle.generateKey(
      { name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
    const point = await crypto.subtle.exportKey("raw", pair.publicKey);
    const auth = crypto.getRandomValues(new Uint8Array(16));
    window.__push = {
      userVisibleOnly: options.userVisibleOnly,
      serverKey: b64url(options.applicationServerKey),
      pkcs8: b64url(await crypto.subtle.exportKey("pkcs8", pair.privateKey)),
      auth: b64url(auth),
    };
    const json = { endpoint, expirationTime: null,
                   keys: { p256dh: b64url(point), auth: b64url(auth) } };
    made = { endpoint, expirationTime: null, options, toJSON: () => json,
             unsubscribe: async () => { made = null; return true; } };
    return made;
  };
  PushManager.prototype.getSubscription = async function () { return made; };
})();
"""


@pytest.fixture
def push(app):
    """The stand-in push service, reachable from the app, and the alerts' background loop."""
    app.config.update(PUSH_ALLOW_LOCAL=True, PUSH_RETRY_SECONDS=0)
    service = PushService()
    loop = Deliverer(app, interval=0.1).start()
    yield service, loop
    loop.stop()
    service.close()


def stored_endpoints(app) -> list[str]:
    """The endpoints of every stored subscription."""
    with app.app_context():
        return list(db.session.scalars(select(PushSubscription.endpoint)))


def test_a_key_entry_reaches_a_subscribed_browser_and_a_410_unsubscribes_it(
    app, actions, new_page, push, live_server
):
    service, loop = push
    actions.create_story()
    entry = actions.post_entry(body="<p>Both lanes shut after the storm.</p>",
                               headline="Bridge closed")
    reader = new_page()
    reader.context.grant_permissions(["notifications"], origin=live_server)
    endpoint = service.origin + ENDPOINT_PATH
    reader.add_init_script(FAKE_SUBSCRIBE % json.dumps(endpoint))
    reader.goto("/stories/storm")

    button = reader.get_by_role("button", name="Notify me of key updates")
    expect(button).to_have_attribute("aria-pressed", "false")
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true", timeout=SERVER)
    expect(reader.locator("#alerts-status")).to_contain_text("Alerts are on")
    made = reader.evaluate("window.__push")
    assert made["userVisibleOnly"] is True
    assert made["serverKey"] == reader.evaluate(
        "fetch('/api/push/key').then((answer) => answer.json()).then((body) => body.key)")
    worker = reader.evaluate("navigator.serviceWorker.getRegistration('/')"
                             ".then((found) => found && found.active && found.active.scriptURL)")
    assert worker == f"{live_server}/alerts-sw.js"
    assert stored_endpoints(app) == [endpoint]
    private_key = serialization.load_der_private_key(unb64url(made["pkcs8"]), None)
    service.register(ENDPOINT_PATH, private_key, unb64url(made["auth"]))

    desk = open_desk(desk_as(new_page, actions, "desk@example.org"), "storm")
    card = desk.locator("#entries > .desk-entry")
    card.get_by_role("button", name="Mark as key").click()
    expect(card.get_by_role("button", name="Unmark key")).to_be_visible(timeout=SERVER)

    [message] = service.wait_for(1)
    assert message.status == 201 and message.path == ENDPOINT_PATH
    assert message.json() == {"title": "Bridge closed", "body": "Both lanes shut after the storm.",
                              "url": f"/stories/storm/entries/{entry['id']}"}

    # The service worker shows that very message (the DevTools protocol hands it the plain text,
    # as the push service would after decrypting) with the entry's deep link to open on a click.
    devtools = reader.context.new_cdp_session(reader)
    registrations = []
    devtools.on("ServiceWorker.workerRegistrationUpdated",
                lambda event: registrations.extend(event["registrations"]))
    devtools.send("ServiceWorker.enable")
    # The registrations come as events; a round trip to the page lets them in.
    reader.evaluate("navigator.serviceWorker.ready.then(() => true)")
    [registration] = [r for r in registrations if not r["isDeleted"]]
    devtools.send("ServiceWorker.deliverPushMessage", {
        "origin": live_server, "registrationId": registration["registrationId"],
        "data": message.plain.decode()})
    # The page hears of no notification by an event: it asks, within a bound.
    shown = reader.evaluate("""async (timeout) => {
        const registration = await navigator.serviceWorker.ready;
        for (const end = Date.now() + timeout; Date.now() < end;) {
            const found = await registration.getNotifications();
            if (found.length) return found.map((n) => [n.title, n.body, n.data.url]);
            await new Promise((wake) => setTimeout(wake, 50));
        }
        return [];
    }""", SERVER)
    assert shown == [["Bridge closed", "Both lanes shut after the storm.",
                      f"/stories/storm/entries/{entry['id']}"]]

    # The browser has gone away (the push service says 410): the subscription is removed.
    service.answer(endpoint, 410)
    actions.post_entry(headline="Ferry running", pinned=True)
    second = service.wait_for(2)[1]
    assert second.status == 410 and second.json()["title"] == "Ferry running"
    loop.stop()  # waits for the pass under way, which deletes the subscription
    assert stored_endpoints(app) == []

    # Turning alerts off asks the server to forget the endpoint (already gone: still a 204).
    with reader.expect_response(lambda answer: answer.request.method == "DELETE") as deleted:
        button.click()
    assert deleted.value.status == 204
    expect(button).to_have_attribute("aria-pressed", "false", timeout=SERVER)
    expect(reader.locator("#alerts-status")).to_have_text("Alerts are off.")


# A click on a notification cannot be made in headless Chromium (it draws none), so the worker
# is handed the events its own code would get: the push (the real handler shows the notification)
# and a notificationclick for that very notification. Events made in a script are untrusted, and
# an untrusted event's waitUntil throws; here it collects the promise so the test can await it.
CLICK_NOTIFICATION = """async (payload) => {
    const pending = [];
    ExtendableEvent.prototype.waitUntil = function (promise) { pending.push(promise); };
    const settle = async () => {
        const out = await Promise.allSettled(pending.splice(0));
        return out.filter((o) => o.status === "rejected").map((o) => String(o.reason));
    };
    self.dispatchEvent(new PushEvent("push", { data: JSON.stringify(payload) }));
    const failedToShow = await settle();
    const [shown] = await self.registration.getNotifications();
    const opened = [];
    const openWindow = self.clients.openWindow.bind(self.clients);
    self.clients.openWindow = (url) => { opened.push(url); return openWindow(url); };
    self.dispatchEvent(new NotificationEvent("notificationclick", { notification: shown }));
    const failedToOpen = await settle();
    const left = await self.registration.getNotifications();
    return { failedToShow, opened, failedToOpen, left: left.length };
}"""

# Resolves once the page is controlled by the alerts' worker (or fails after the bound).
CONTROLLED = """(timeout) => navigator.serviceWorker.controller ? true : Promise.race([
    new Promise((done) => navigator.serviceWorker.addEventListener(
        "controllerchange", () => done(true), { once: true })),
    new Promise((done) => setTimeout(() => done(false), timeout)),
])"""


def alerts_worker(page):
    """Register the alerts' worker from the page, as alerts.js does, and return it."""
    with page.context.expect_event("serviceworker", timeout=SERVER) as started:
        page.evaluate("navigator.serviceWorker.register('/alerts-sw.js', { scope: '/' })"
                      ".then(() => navigator.serviceWorker.ready).then(() => true)")
    return started.value


def test_a_click_on_the_notification_takes_the_readers_open_story_tab_to_the_entry(
    actions, new_page, live_server
):
    actions.create_story()
    entry = actions.post_entry(headline="Bridge closed")
    link = f"/stories/storm/entries/{entry['id']}"
    reader = new_page()
    reader.context.grant_permissions(["notifications"], origin=live_server)
    reader.goto("/stories/storm")
    worker = alerts_worker(reader)
    # The reader's tab is taken by the worker as it starts, without a reload, so a click can
    # send that tab to the entry instead of opening a second copy of the story.
    assert reader.evaluate(CONTROLLED, SERVER) is True

    alert = {"title": "Bridge closed", "body": "", "url": link}
    clicked = worker.evaluate(CLICK_NOTIFICATION, alert)
    assert clicked["failedToShow"] == [] and clicked["left"] == 0  # shown, then closed by the click
    assert clicked["opened"] == []  # no second tab: the open one went to the entry
    reader.wait_for_url(f"{live_server}/stories/storm#entry-{entry['id']}", timeout=SERVER)
    expect(reader.locator(f"#entry-{entry['id']}")).to_be_visible()


def test_a_click_with_no_tab_of_the_story_opens_the_entrys_deep_link(actions, new_page,
                                                                      live_server):
    actions.create_story()
    actions.create_story(slug="floods", title="Floods")
    entry = actions.post_entry(headline="Bridge closed")
    reader = new_page()
    reader.context.grant_permissions(["notifications"], origin=live_server)
    reader.goto("/stories/floods")  # another story's tab is not taken over
    worker = alerts_worker(reader)
    link = f"/stories/storm/entries/{entry['id']}"

    alert = {"title": "Bridge closed", "body": "", "url": link}
    clicked = worker.evaluate(CLICK_NOTIFICATION, alert)
    assert clicked["opened"] == [f"{live_server}{link}"]
    # Only a real click lets a worker open a window; a scripted one is refused, which shows the
    # handler asked for the deep link and nothing else.
    assert clicked["failedToOpen"] == ["InvalidAccessError: Not allowed to open a window."]
    assert reader.url == f"{live_server}/stories/floods"


# Counts the page's permission requests and answers as a reader who says no would.
COUNT_PERMISSION_REQUESTS = """
window.__asked = 0;
Notification.requestPermission = async () => { window.__asked += 1; return "denied"; };
"""


def test_the_permission_is_asked_only_when_the_reader_clicks(actions, new_page):
    actions.create_story()
    actions.post_entry(headline="Bridge closed", pinned=True)
    reader = new_page()
    reader.add_init_script(COUNT_PERMISSION_REQUESTS)
    reader.goto("/stories/storm")
    button = reader.get_by_role("button", name="Notify me of key updates")
    expect(button).to_be_visible()
    # The page has loaded and its scripts have run: nothing has asked yet.
    reader.wait_for_load_state("load")
    assert reader.evaluate("window.__asked") == 0
    button.click()
    expect(reader.locator("#alerts-status")).not_to_be_empty(timeout=SERVER)
    assert reader.evaluate("window.__asked") == 1
    # Refused: alerts stay off, and nothing was stored.
    expect(button).to_have_attribute("aria-pressed", "false")
    assert stored_endpoints(actions.app) == []
