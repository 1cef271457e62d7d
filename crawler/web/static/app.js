// presswatch web view: small enhancements; every page works without them.
// Served as a file: the Content-Security-Policy allows no inline script.
"use strict";

// Times are written in UTC; show them in the reader's own zone.
function localTimes() {
  const format = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    timeZoneName: "short",
  });
  for (const node of document.querySelectorAll("time[datetime]")) {
    const when = new Date(node.getAttribute("datetime"));
    if (!isNaN(when)) {
      node.title = node.textContent;
      node.textContent = format.format(when);
    }
  }
}

// On a story page, jump to the first highlighted hit with "n" and to the next with each press.
function hitKeys() {
  const hits = Array.from(document.querySelectorAll(".text mark"));
  if (!hits.length) return;
  let current = -1;
  document.addEventListener("keydown", (event) => {
    if (event.key !== "n" || event.target.closest("input, textarea, select")) return;
    current = (current + 1) % hits.length;
    hits[current].scrollIntoView({ block: "center" });
    hits.forEach((hit, i) => hit.classList.toggle("current", i === current));
  });
}

// Keep the query box's focus on the error position after a syntax error.
function errorCaret() {
  const box = document.getElementById("q");
  const error = document.getElementById("query-error");
  if (!box || !error) return;
  const at = parseInt(error.dataset.position || "0", 10);
  if (at > 0) {
    box.focus();
    box.setSelectionRange(at - 1, at);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  localTimes();
  hitKeys();
  errorCaret();
});
