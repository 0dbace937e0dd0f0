// The back office's one script (no inline script anywhere: the pages' CSP forbids it).
// It shows times in the reader's time zone, follows the staff feed and refreshes the page's
// content when something it shows changed, follows a pending status change until it is
// decided, uploads results with a progress bar, and lets cards be dragged across the board
// (HTML5 drag and drop; the buttons on each card do the same without it).
"use strict";

(function () {
  const main = () => document.querySelector("main");
  // The page's language: the API's error sentences come back in it (every message a
  // staff member reads is in the page's language; the API answers English to a client
  // that names no language).
  const pageLang = () => document.documentElement.lang || "uk";

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
    // Typed into: a field's value is not what the page came with (a form may come filled
    // in, such as the payment's amount).
    return Array.from(main().querySelectorAll("textarea, input[type=text], input[type=file]"))
      .some((el) => (el.type === "file" ? el.files.length > 0 : el.value.trim() !== el.defaultValue.trim()));
  }

  let refreshing = null;
  // A card in the hand, and the board moves not yet decided: the page's content stays put
  // meanwhile (a refresh would drop the card or the moves' places).
  let inHand = false;
  let moving = 0;
  function refresh() {
    if (refreshing) return;
    // A card in the hand, or a move on its way: the refresh comes once it is decided.
    if (inHand || moving > 0) { refreshing = setTimeout(() => { refreshing = null; refresh(); }, 700); return; }
    if (busy()) { document.getElementById("live-notice").hidden = false; return; }
    refreshing = setTimeout(async () => {
      try {
        const response = await fetch(location.href, { credentials: "same-origin" });
        if (!response.ok) return;
        const next = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = next.querySelector("main");
        // Typing may have begun while the page was fetched: their words win, the news waits.
        if (busy()) { document.getElementById("live-notice").hidden = false; return; }
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
      "order.comment.posted", "order.assigned", "order.changed",
      "order.payment.received", "order.payment.refunded"];
    kinds.forEach((kind) => feed.addEventListener(kind, (event) => {
      let data = {};
      try { data = JSON.parse(event.data); } catch (_) { return; }
      if (shows(data.order_id)) refresh();
    }));
    // The stream is open. Back from posting a reply or a comment (`#timeline`), or open
    // again after a break: what was recorded before it opened came with no event, so read
    // the page once more.
    let opened = false;
    feed.addEventListener("ready", () => {
      if (opened || location.hash === "#timeline") { refreshing = null; refresh(); }
      opened = true;
      document.body.dataset.feed = "ready";
    });
    // The stream ended and the gateway would not open it again (signed out, the account
    // deactivated): the page is no longer live; a reload leads to the sign-in page.
    feed.addEventListener("error", () => {
      if (feed.readyState !== EventSource.CLOSED) return;
      document.body.dataset.feed = "closed";
      const notice = document.getElementById("live-notice");
      if (notice) notice.hidden = false;
    });
  }

  // A status change is a request until the persistence worker decides it; a payment or a
  // refund is pending until the worker records it.
  function pending(root) {
    root.querySelectorAll("[data-poll]").forEach(follows);
  }

  function follows(banner) {
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
      request.setRequestHeader("Accept-Language", pageLang());
      request.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) { bar.hidden = false; bar.value = (100 * e.loaded) / e.total; }
      });
      request.addEventListener("load", () => {
        if (request.status === 202) { say.textContent = form.dataset.done; input.value = ""; say.className = "message ok"; }
        else {
          let why = "";
          try { why = JSON.parse(request.responseText).error.message; } catch (_) { why = ""; }
          say.textContent = why ? form.dataset.failed + ": " + why : form.dataset.failed;
          say.className = "message error";
        }
      });
      request.addEventListener("error", () => { say.textContent = form.dataset.failed; say.className = "message error"; });
      request.send(data);
    });
  }

  // Notices that outlive a refresh of the page's content (outside <main>), one per board
  // move, stacked: each says where its move is (pending) and then what became of it
  // (recorded or refused), however many moves follow each other.
  function toast(text, kind) {
    let box = document.getElementById("toasts");
    if (!box) {
      box = document.createElement("div");
      box.id = "toasts";
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      document.body.appendChild(box);
    }
    const note = document.createElement("div");
    box.appendChild(note);
    const say = (words, how) => {
      note.textContent = words;
      note.className = "toast " + (how || "");
      clearTimeout(note.timer);
      // A pending notice stays until its move is decided; an outcome stays 8 s.
      if (how !== "pending") note.timer = setTimeout(() => note.remove(), 8000);
    };
    say(text, kind);
    return { say: say };
  }

  // What became of a status change request: resolves with the request's final view.
  async function decided(url) {
    for (let i = 0; i < 120; i++) {
      try {
        const response = await fetch(url, {
          credentials: "same-origin", headers: { "Accept-Language": pageLang() },
        });
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
        card = el; home = { parent: el.parentNode, next: el.nextSibling }; inHand = true;
        event.dataTransfer.setData("text/plain", el.dataset.orderId);
        event.dataTransfer.effectAllowed = "move";
        el.classList.add("dragging");
      });
      el.addEventListener("dragend", () => {
        el.classList.remove("dragging");
        grid.querySelectorAll(".column").forEach((c) => c.classList.remove("drop-target"));
        inHand = false;
      });
    });
    // A move decided: the page is read again once no other move is on its way.
    const settled = () => {
      moving = Math.max(0, moving - 1);
      if (moving === 0) { refreshing = null; refresh(); }
    };
    const snapBack = (el, place, note, why) => {
      el.classList.remove("moving");
      if (place.parent.isConnected) place.parent.insertBefore(el, place.next);
      note.say(why, "error");
      settled();
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
        const el = card; const place = home; card = null; inHand = false;
        if (!el || column.contains(el)) return;
        const to = column.dataset.status;
        const number = el.querySelector(".number").textContent;
        if (!(el.dataset.moves || "").split(" ").includes(to)) {
          toast(number + ": " + grid.dataset.notAllowed, "error"); return;
        }
        if ((el.dataset.reasonMoves || "").split(" ").includes(to)) {
          location.href = el.querySelector("a.number").href + "?to=" + encodeURIComponent(to) + "#status-form";
          return;
        }
        moving += 1;
        column.querySelector("h2").after(el);
        el.classList.add("moving");
        el.draggable = false;
        const label = column.querySelector("h2 .badge").textContent;
        const note = toast(number + " → " + label + ": " + grid.dataset.moving, "pending");
        let answer;
        try {
          const response = await fetch("/api/staff/orders/" + el.dataset.orderId + "/status", {
            method: "POST", credentials: "same-origin",
            headers: {
              "Content-Type": "application/json", "Accept": "application/json",
              "Accept-Language": pageLang(),
            },
            body: JSON.stringify({ to: to, expected_version: Number(el.dataset.version) }),
          });
          answer = await response.json();
          if (!response.ok) {
            const why = answer && answer.error ? answer.error.message : "";
            snapBack(el, place, note, number + " — " + grid.dataset.refused + (why ? ": " + why : ""));
            return;
          }
        } catch (_) { snapBack(el, place, note, number + " — " + grid.dataset.refused); return; }
        const view = await decided(answer.request_url);
        if (!view) {
          // Not decided within a minute: the card stays where it was dropped, marked, and
          // the page (read again) shows where the order really is.
          note.say(number + " → " + label + ": " + grid.dataset.moving, "error");
          settled();
          return;
        }
        if (view.outcome === "refused") {
          // The worker's reason is English; the page says it by its code, in its language.
          let why = "";
          try { why = JSON.parse(grid.dataset.refusals)[view.refusal_code] || ""; } catch (_) { why = ""; }
          snapBack(el, place, note, number + " — " + grid.dataset.refused + (why ? ": " + why : ""));
          return;
        }
        el.classList.remove("moving");
        note.say(number + " → " + label + ": " + grid.dataset.recorded, "ok");
        settled();
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
