// The web board: draws /events' figures (the same as /queues.json) and
// keeps them live. Everything it writes goes in as text (textContent),
// never as markup: an announcement is staff's words, not HTML.
"use strict";

const queuesEl = document.getElementById("queues");
const linkEl = document.getElementById("link");

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function clock(rfc3339) {
  return new Date(rfc3339).toLocaleTimeString([], {
    hour: "2-digit", minute: "2-digit", hour12: false,
  });
}

// The same words as the terminal wall: `OPEN until 16:00`, `CLOSED · opens 14:00`.
function state(queue) {
  if (queue.open) return queue.closes_at ? "OPEN until " + clock(queue.closes_at) : "OPEN";
  return queue.opens_at ? "CLOSED · opens " + clock(queue.opens_at) : "CLOSED";
}

// `waiting · wait about 10–15 min · 2 being helped`.
function figures(queue) {
  const parts = ["waiting"];
  if (queue.open && queue.typical_wait) parts.push("wait " + queue.typical_wait);
  if (queue.being_helped > 0) parts.push(queue.being_helped + " being helped");
  return parts.join(" · ");
}

function duty(queue) {
  return queue.staff_on_duty === 0 ? "Nobody on duty" : "On duty: " + queue.staff_on_duty;
}

function panel(queue) {
  const node = el("section", "queue");
  node.dataset.queue = queue.name;
  const top = el("div", "top");
  const names = [queue.course, queue.title, queue.room].filter((part) => part).join(" · ");
  top.append(el("span", "names", names));
  top.append(el("span", "state " + (queue.open ? "open" : "closed"), state(queue)));
  node.append(top);
  const count = el("div", "count");
  count.append(el("span", "waiting", String(queue.waiting)));
  count.append(el("span", "figures", figures(queue)));
  node.append(count);
  node.append(el("div", "duty", duty(queue)));
  if (queue.announcement) {
    node.append(el("div", "announcement", "“" + queue.announcement + "”"));
  }
  return node;
}

function draw(board) {
  if (board.queues.length === 0) {
    queuesEl.replaceChildren(el("p", "empty", "No queues on this server."));
    return;
  }
  queuesEl.replaceChildren(...board.queues.map(panel));
}

function live(isLive, text) {
  linkEl.dataset.live = String(isLive);
  linkEl.textContent = text;
}

// EventSource reconnects by itself after a dropped stream; after a refusal
// (503: too many live pages) it gives up, so this starts it again.
function follow() {
  const events = new EventSource("/events");
  events.addEventListener("board", (event) => {
    draw(JSON.parse(event.data));
    live(true, "● Live");
  });
  events.addEventListener("error", () => {
    live(false, "○ This board is not live; trying again.");
    if (events.readyState === EventSource.CLOSED) setTimeout(follow, 5000);
  });
}

follow();
