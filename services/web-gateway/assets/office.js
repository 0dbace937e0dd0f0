// The back office's one script (no inline script anywhere: the pages' CSP forbids it).
// It shows times in the reader's time zone, follows the staff feed and refreshes the page's
// content when something it shows changed, follows a pending status change until it is
// decided, and uploads results with a progress bar.
"use strict";

(function () {
  const main = () => document.querySelector("main");

  function localTimes(root) {
    const format = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
      dateStyle: "medium", timeStyle: "short",
    });
    root.querySelectorAll("time[datetime]").forEach((el) => {
      const when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when)) { el.title = el.textContent; el.textContent = format.format(when); }
    });
  }

  // Someone is typing: a refresh would throw their words away, so only say there is news.
  function busy() {
    const active = document.activeElement;
    if (active && main().contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) return true;
    return Array.from(main().querySelectorAll("textarea, input[type=text], input[type=file]"))
      .some((el) => (el.type === "file" ? el.files.length > 0 : el.value.trim() !== ""));
  }

  let refreshing = null;
  function refresh() {
    if (refreshing) return;
    if (busy()) { document.getElementById("live-notice").hidden = false; return; }
    refreshing = setTimeout(async () => {
      try {
        const response = await fetch(location.href, { credentials: "same-origin" });
        if (!response.ok) return;
        const next = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = next.querySelector("main");
        if (fresh) { main().replaceWith(fresh); start(fresh); }
      } finally { refreshing = null; }
    }, 250);
  }

  // Which orders this page shows: an order page its one, a list or board every card's.
  function shows(orderId) {
    if (!orderId) return false;
    const page = document.querySelector(".order[data-order-id]");
    if (page) return page.dataset.orderId === orderId;
    return true;
  }

  function follow() {
    if (!document.body.dataset.live || !window.EventSource) return;
    const feed = new EventSource("/api/staff/feed");
    const kinds = ["order.created", "order.message.posted", "order.status.changed",
      "order.status.change_refused", "order.price.quoted", "order.file.stored",
      "order.comment.posted", "order.assigned", "order.changed"];
    kinds.forEach((kind) => feed.addEventListener(kind, (event) => {
      let data = {};
      try { data = JSON.parse(event.data); } catch (_) { return; }
      if (shows(data.order_id)) refresh();
    }));
    feed.addEventListener("ready", () => { document.body.dataset.feed = "ready"; });
  }

  // A status change is a request until the persistence worker decides it.
  function pending(root) {
    const banner = root.querySelector("[data-poll]");
    if (!banner) return;
    const poll = async () => {
      try {
        const response = await fetch(banner.dataset.poll, { credentials: "same-origin" });
        if (response.ok && (await response.json()).outcome !== "pending") {
          refreshing = null; refresh(); return;
        }
      } catch (_) { /* try again */ }
      setTimeout(poll, 700);
    };
    setTimeout(poll, 500);
  }

  function uploads(root) {
    const form = root.querySelector("#result-upload");
    if (!form) return;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const input = form.querySelector("input[type=file]");
      const bar = form.querySelector("progress");
      const say = form.querySelector(".message");
      const data = new FormData();
      Array.from(input.files).forEach((file) => data.append("file", file, file.name));
      const request = new XMLHttpRequest();
      request.open("POST", form.dataset.url);
      request.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) { bar.hidden = false; bar.value = (100 * e.loaded) / e.total; }
      });
      request.addEventListener("load", () => {
        if (request.status === 202) { say.textContent = form.dataset.done; input.value = ""; say.className = "message ok"; }
        else {
          let why = "";
          try { why = JSON.parse(request.responseText).error.message; } catch (_) { why = request.statusText; }
          say.textContent = form.dataset.failed + ": " + why; say.className = "message error";
        }
      });
      request.addEventListener("error", () => { say.textContent = form.dataset.failed; say.className = "message error"; });
      request.send(data);
    });
  }

  function start(root) { localTimes(root); pending(root); uploads(root); }

  document.addEventListener("DOMContentLoaded", () => {
    start(document);
    follow();
    const notice = document.getElementById("live-notice");
    if (notice) notice.querySelector("a").addEventListener("click", (e) => {
      e.preventDefault(); notice.hidden = true; location.reload();
    });
  });
})();
