/* Progress of background work (issue 16: a payout export). Each element carrying data-poll (its
   status URL, JSON: label, rows_done, rows_total, percent, download, finished) is asked again every
   2 s; its <progress data-part=bar>, [data-part=status], [data-part=percent] and [data-part=rows]
   follow, and its [data-part=download] link shows once the file is ready. Our own file: the
   Content-Security-Policy allows no inline script. */
(function () {
  "use strict";
  var EVERY = 2000;

  function part(row, name) {
    return row.querySelector("[data-part=" + name + "]");
  }

  function show(row, state) {
    var bar = part(row, "bar");
    if (bar && state.rows_total) {
      bar.max = state.rows_total;
      bar.value = state.rows_done;
    }
    if (part(row, "status")) { part(row, "status").textContent = state.label; }
    if (part(row, "percent")) { part(row, "percent").textContent = state.percent + "%"; }
    if (part(row, "rows") && state.rows_total !== null) {
      part(row, "rows").textContent = (row.getAttribute("data-rows-template") || "{done} / {total}")
        .replace("{done}", state.rows_done.toLocaleString()).replace("{total}", state.rows_total.toLocaleString());
    }
    if (state.download && part(row, "download")) {
      part(row, "download").href = state.download;
      part(row, "download").hidden = false;
    }
  }

  function poll(row) {
    fetch(row.getAttribute("data-poll"), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state) { return; }  /* gone (404) or refused: stop asking */
        show(row, state);
        if (!state.finished) { window.setTimeout(function () { poll(row); }, EVERY); }
      })
      .catch(function () { window.setTimeout(function () { poll(row); }, EVERY * 5); });  /* offline: later */
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-poll]"), function (row) {
      window.setTimeout(function () { poll(row); }, EVERY);
    });
  });
}());
