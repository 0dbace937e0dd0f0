// The back office's one script (no inline script anywhere: the pages' CSP forbids it).
// It shows times in the reader's time zone, follows the staff feed and refreshes the page's
// content when something it shows changed, follows a pending status change until it is
// decided, uploads results with a progress bar, and lets cards be dragged across the board
// (HTML5 drag and drop; the buttons on each card do the same without it).
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
  let dragging = false;
  function refresh() {
    if (refreshing) return;
    // A card in the hand, or a move on its way: the refresh comes once it is decided.
    if (dragging) { refreshing = setTimeout(() => { refreshing = null; refresh(); }, 700); return; }
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
    // A page left behind (kept in the back/forward cache) must not keep its stream: a
    // browser holds only six connections to one host, and every stream left open takes one
    // until the page's own requests have none left.
    window.addEventListener("pagehide", () => feed.close());
    const kinds = ["order.created", "order.message.posted", "order.status.changed",
      "order.status.change_refused", "order.price.quoted", "order.file.stored",
      "order.comment.posted", "order.assigned", "order.changed"];
    kinds.forEach((kind) => feed.addEventListener(kind, (event) => {
      let data = {};
      try { data = JSON.parse(event.data); } catch (_) { return; }
      if (shows(data.order_id)) refresh();
    }));
    feed.addEventListener("ready", () => { document.body.dataset.feed = "ready"; });
    // The stream ended and the gateway would not open it again (signed out, the account
    // deactivated): the page is no longer live; a reload leads to the sign-in page.
    feed.addEventListener("error", () => {
      if (feed.readyState !== EventSource.CLOSED) return;
      document.body.dataset.feed = "closed";
      const notice = document.getElementById("live-notice");
      if (notice) notice.hidden = false;
    });
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

  // A message that outlives a refresh of the page's content (outside <main>).
  function toast(text, kind) {
    let box = document.getElementById("toast");
    if (!box) {
      box = document.createElement("div");
      box.id = "toast";
      box.setAttribute("role", "status");
      document.body.appendChild(box);
    }
    box.textContent = text;
    box.className = "toast " + (kind || "");
    box.hidden = false;
    clearTimeout(box.timer);
    box.timer = setTimeout(() => { box.hidden = true; }, 8000);
  }

  // What became of a status change request: resolves with the request's final view.
  async function decided(url) {
    for (let i = 0; i < 120; i++) {
      try {
        const response = await fetch(url, { credentials: "same-origin" });
        if (response.ok) {
          const view = await response.json();
          if (view.outcome !== "pending") return view;
        }
      } catch (_) { /* try again */ }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return null;
  }

  // The board: a card dropped on another column asks for that status, exactly as the
  // card's button would (the same API, checked by the same matrix and state machine). A move
  // the card does not offer, or one the persistence worker refuses, puts the card back where
  // it was and says why; a move that needs a reason opens the order page's form.
  function board(root) {
    const grid = root.querySelector(".board");
    if (!grid) return;
    let card = null;
    let home = null;
    grid.querySelectorAll("article[draggable=true]").forEach((el) => {
      el.addEventListener("dragstart", (event) => {
        card = el; home = { parent: el.parentNode, next: el.nextSibling }; dragging = true;
        event.dataTransfer.setData("text/plain", el.dataset.orderId);
        event.dataTransfer.effectAllowed = "move";
        el.classList.add("dragging");
      });
      el.addEventListener("dragend", () => {
        el.classList.remove("dragging");
        grid.querySelectorAll(".column").forEach((c) => c.classList.remove("drop-target"));
        if (!el.classList.contains("moving")) dragging = false;
      });
    });
    const snapBack = (el, place, why) => {
      el.classList.remove("moving");
      place.parent.insertBefore(el, place.next);
      dragging = false;
      toast(why, "error");
    };
    grid.querySelectorAll(".column[data-status]").forEach((column) => {
      column.addEventListener("dragover", (event) => {
        if (!card || column.contains(card)) return;
        event.preventDefault();
        column.classList.add("drop-target");
      });
      column.addEventListener("dragleave", () => column.classList.remove("drop-target"));
      column.addEventListener("drop", async (event) => {
        event.preventDefault();
        column.classList.remove("drop-target");
        const el = card; const place = home; card = null;
        if (!el || column.contains(el)) { dragging = false; return; }
        const to = column.dataset.status;
        const number = el.querySelector(".number").textContent;
        if (!(el.dataset.moves || "").split(" ").includes(to)) {
          dragging = false; toast(number + ": " + grid.dataset.notAllowed, "error"); return;
        }
        if ((el.dataset.reasonMoves || "").split(" ").includes(to)) {
          location.href = el.querySelector("a.number").href + "?to=" + encodeURIComponent(to) + "#status-form";
          return;
        }
        column.querySelector("h2").after(el);
        el.classList.add("moving");
        toast(number + ": " + grid.dataset.moving, "pending");
        let answer;
        try {
          const response = await fetch("/api/staff/orders/" + el.dataset.orderId + "/status", {
            method: "POST", credentials: "same-origin",
            headers: { "Content-Type": "application/json", "Accept": "application/json" },
            body: JSON.stringify({ to: to, expected_version: Number(el.dataset.version) }),
          });
          answer = await response.json();
          if (!response.ok) { snapBack(el, place, number + " — " + grid.dataset.refused + ": " + answer.error.message); return; }
        } catch (_) { snapBack(el, place, number + " — " + grid.dataset.refused); return; }
        const view = await decided(answer.request_url);
        if (view && view.outcome === "refused") {
          snapBack(el, place, number + " — " + grid.dataset.refused + ": " + (view.refusal_reason || ""));
          return;
        }
        el.classList.remove("moving");
        dragging = false;
        document.getElementById("toast").hidden = true;
        refreshing = null; refresh();
      });
    });
  }

  // `?to=` on an order page (a card dropped on a column whose move needs a reason): that
  // move chosen, the reason box focused.
  function preselect(root) {
    const form = root.querySelector("#status-form form");
    const to = new URLSearchParams(location.search).get("to");
    if (!form || !to) return;
    const select = form.querySelector("select[name=to]");
    if (Array.from(select.options).some((o) => o.value === to)) {
      select.value = to;
      form.querySelector("input[name=reason]").focus();
    }
  }

  function start(root) { localTimes(root); pending(root); uploads(root); board(root); preselect(root); }

  document.addEventListener("DOMContentLoaded", () => {
    start(document);
    follow();
    const notice = document.getElementById("live-notice");
    if (notice) notice.querySelector("a").addEventListener("click", (e) => {
      e.preventDefault(); notice.hidden = true; location.reload();
    });
  });
})();
