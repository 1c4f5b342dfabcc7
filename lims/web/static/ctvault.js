// ctvault page helpers: copy buttons for digests. No inline scripts (Content-Security-Policy).
"use strict";

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button || !navigator.clipboard) {
    return;
  }
  navigator.clipboard.writeText(button.dataset.copy).then(() => {
    button.classList.add("copied");
    button.textContent = "copied";
    setTimeout(() => {
      button.classList.remove("copied");
      button.textContent = "copy";
    }, 1500);
  });
});

// Times are shown in UTC; the tooltip gives the reader's local time with its zone (A11-11).
const localTime = new Intl.DateTimeFormat(undefined, {
  dateStyle: "medium",
  timeStyle: "long",
});
function addLocalTimes(root) {
  root.querySelectorAll("time[datetime]").forEach((element) => {
    const moment = new Date(element.getAttribute("datetime"));
    if (!Number.isNaN(moment.getTime()) && !element.title) {
      element.title = `local time: ${localTime.format(moment)}`;
    }
  });
}
document.addEventListener("DOMContentLoaded", () => addLocalTimes(document));
document.addEventListener("htmx:afterSwap", (event) => addLocalTimes(event.target));
