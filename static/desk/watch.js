// The desk's long poll: what readers never see (submissions, drafts, who is editing) reaches an
// open desk within a second. The server answers as soon as its state differs from the token we
// hold; every change is announced as a "desk:watch" event whose detail is the new state.
const RETRY_MS = 1000;
const MAX_RETRY_MS = 30000;

function watch(element) {
  let token = element.dataset.watchToken || "";
  let failures = 0;

  function ask() {
    const url = new URL(element.dataset.watchUrl, window.location.href);
    url.searchParams.set("since", token);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => {
        const json = (response.headers.get("Content-Type") || "").includes("application/json");
        if (!response.ok || !json) throw new Error(String(response.status));
        return response.json();
      })
      .then((state) => {
        failures = 0;
        if (state.token !== token) {
          token = state.token;
          document.dispatchEvent(new CustomEvent("desk:watch", { detail: state }));
        }
        ask();
      })
      .catch(() => {
        // Offline, a restarting server or an ended session: ask again, less and less often.
        failures += 1;
        const ceiling = Math.min(MAX_RETRY_MS, RETRY_MS * 2 ** failures);
        setTimeout(ask, ceiling / 2 + Math.random() * (ceiling / 2));
      });
  }

  ask();
}

const watched = document.querySelector("[data-watch-url]");
if (watched) watch(watched);
