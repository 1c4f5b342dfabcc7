// Browser upload: each file is sent as the raw body of its own PUT request, so the server
// streams it straight into the blob store (no multipart parsing, nothing held in memory).
// Steps: open a batch (checks sample, dataset name and reason) -> PUT every file with a
// progress bar -> commit one version. On any failure the batch is cancelled, which discards
// the bytes already stored.
"use strict";

(() => {
  const form = document.getElementById("upload-form");
  if (!form) {
    return;
  }
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const filesInput = document.getElementById("upload-files");
  const folderInput = document.getElementById("upload-folder");
  const selection = document.getElementById("upload-selection");
  const submit = document.getElementById("upload-submit");
  const status = document.getElementById("upload-status");
  const bar = document.getElementById("upload-progress");
  const text = document.getElementById("upload-text");
  const maxBytes = Number(form.dataset.maxBytes);
  let busy = false;

  const units = ["bytes", "kB", "MB", "GB", "TB"];
  function size(bytes) {
    let value = bytes;
    let unit = 0;
    while (value >= 1000 && unit < units.length - 1) {
      value /= 1000;
      unit += 1;
    }
    return unit === 0 ? `${bytes} bytes` : `${value.toFixed(value < 100 ? 1 : 0)} ${units[unit]}`;
  }

  // Paths inside the dataset: a chosen folder's own name is not part of them.
  function chosenFiles() {
    const items = [];
    for (const file of filesInput.files) {
      items.push({ file, path: file.name });
    }
    for (const file of folderInput.files) {
      const parts = (file.webkitRelativePath || file.name).split("/");
      items.push({ file, path: parts.length > 1 ? parts.slice(1).join("/") : parts[0] });
    }
    return items;
  }

  function showSelection() {
    const items = chosenFiles();
    const total = items.reduce((sum, item) => sum + item.file.size, 0);
    selection.textContent = items.length
      ? `${items.length} file${items.length === 1 ? "" : "s"}, ${size(total)}`
      : "Nothing chosen.";
  }
  filesInput.addEventListener("change", showSelection);
  folderInput.addEventListener("change", showSelection);

  function report(message, failed) {
    status.hidden = false;
    status.classList.toggle("failed", Boolean(failed));
    text.textContent = message;
  }

  async function readJson(response) {
    const type = response.headers.get("Content-Type") || "";
    if (!type.includes("application/json")) {
      throw new Error("Your session has ended: log in again, then repeat the upload.");
    }
    const body = await response.json();
    if (!response.ok) {
      throw new Error(body.error || `The server answered ${response.status}.`);
    }
    return body;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken, Accept: "application/json" },
    }).then(readJson);
  }

  // XMLHttpRequest, because fetch() cannot report upload progress.
  function put(url, file, onProgress) {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open("PUT", url);
      request.setRequestHeader("X-CSRFToken", csrfToken);
      request.setRequestHeader("Content-Type", "application/octet-stream");
      request.setRequestHeader("Accept", "application/json");
      request.upload.addEventListener("progress", (event) => onProgress(event.loaded));
      request.addEventListener("load", () => {
        let body = null;
        try {
          body = JSON.parse(request.responseText);
        } catch {
          reject(new Error("Your session has ended: log in again, then repeat the upload."));
          return;
        }
        if (request.status >= 200 && request.status < 300) {
          resolve(body);
        } else {
          reject(new Error(body.error || `The server answered ${request.status}.`));
        }
      });
      request.addEventListener("error", () => reject(new Error("The connection was lost.")));
      request.addEventListener("abort", () => reject(new Error("The upload was aborted.")));
      request.send(file);
    });
  }

  async function upload(items) {
    const total = items.reduce((sum, item) => sum + item.file.size, 0);
    const batch = await post(form.action, new URLSearchParams(new FormData(form)));
    let done = 0;
    try {
      for (const [index, item] of items.entries()) {
        const url = `${batch.files_url}?path=${encodeURIComponent(item.path)}`;
        const label = `File ${index + 1} of ${items.length}: ${item.path}`;
        await put(url, item.file, (loaded) => {
          bar.value = total ? (done + loaded) / total : 1;
          report(`${label} · ${size(done + loaded)} of ${size(total)}`);
        });
        done += item.file.size;
      }
      report("Checking and committing the version…");
      bar.removeAttribute("value");
      return await post(batch.commit_url);
    } catch (error) {
      post(batch.cancel_url).catch(() => undefined);
      throw error;
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) {
      return;
    }
    const items = chosenFiles();
    const total = items.reduce((sum, item) => sum + item.file.size, 0);
    if (!form.reportValidity()) {
      return;
    }
    if (!items.length) {
      report("Choose one or more files, or a folder.", true);
      return;
    }
    if (total > maxBytes) {
      report(`${size(total)} is more than the ${size(maxBytes)} one upload may hold.`, true);
      return;
    }
    busy = true;
    submit.disabled = true;
    bar.value = 0;
    report(`Starting upload of ${items.length} file(s), ${size(total)}…`);
    try {
      const result = await upload(items);
      bar.value = 1;
      report(`Version ${result.number} committed.`);
      busy = false;
      window.location.assign(result.url);
    } catch (error) {
      report(`Upload failed, nothing was committed: ${error.message}`, true);
      busy = false;
      submit.disabled = false;
    }
  });

  window.addEventListener("beforeunload", (event) => {
    if (busy) {
      event.preventDefault();
    }
  });
})();
