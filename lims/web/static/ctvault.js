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
