// hookd dashboard: the few things JavaScript adds to pages that work
// without it. Everything from the server is set as text (textContent),
// never as markup.
"use strict";

// Copy buttons: data-copy names the element whose text is copied.
function setUpCopy() {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const source = document.getElementById(button.dataset.copy);
    if (!source || !navigator.clipboard) continue;
    button.hidden = false;
    const label = button.textContent;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(source.textContent);
        button.textContent = "Copied";
      } catch (e) {
        button.textContent = "Copy failed: select the text instead";
      }
      setTimeout(() => { button.textContent = label; }, 2000);
    });
  }
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.appendChild(td);
  return td;
}

// Live tail: new events are put at the top of the events table.
function setUpTail() {
  const status = document.querySelector("[data-tail]");
  const rows = document.getElementById("event-rows");
  if (!status || !rows || !window.EventSource) return;
  const source = new EventSource(status.dataset.tail);
  source.addEventListener("open", () => {
    status.textContent = "Live: new events appear at the top as they arrive.";
  });
  source.addEventListener("error", () => {
    status.textContent = "Live updates paused; reconnecting…";
  });
  source.addEventListener("accepted", (msg) => {
    const ev = JSON.parse(msg.data);
    const row = document.createElement("tr");
    row.className = "new";
    cell(row, ev.received_at.replace("T", " ").replace(/\.\d+Z$/, "Z"));
    cell(row, ev.service);
    cell(row, ev.idempotency_key);
    const st = document.createElement("span");
    st.className = "status pending";
    st.textContent = "pending";
    cell(row, "").appendChild(st);
    const a = document.createElement("a");
    a.href = "/events/" + encodeURIComponent(ev.id);
    a.textContent = ev.id;
    cell(row, "").appendChild(a);
    rows.prepend(row);
    const none = document.getElementById("no-events");
    if (none) none.remove();
  });
}

// Polling: an element #live with data-poll is refreshed from the server's
// page until the new one no longer has data-poll (the work is done).
function setUpPoll() {
  const live = document.getElementById("live");
  if (!live || !live.dataset.poll) return;
  setTimeout(async () => {
    try {
      const res = await fetch(location.href, { credentials: "same-origin" });
      if (res.ok) {
        const doc = new DOMParser().parseFromString(await res.text(), "text/html");
        const fresh = doc.getElementById("live");
        if (fresh) {
          live.replaceWith(document.importNode(fresh, true));
        }
      }
    } finally {
      setUpPoll();
    }
  }, 1000);
}

setUpCopy();
setUpTail();
setUpPoll();
