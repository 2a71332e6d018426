// Fills in the segment sizes after the list is shown (counting can take a moment).
(function () {
  function load(root) {
    var table = (root || document).querySelector("[data-sizes-url]");
    if (!table) return;
    fetch(table.dataset.sizesUrl, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (sizes) {
        table.querySelectorAll("[data-segment-size]").forEach(function (cell) {
          var n = sizes[cell.dataset.segmentSize];
          cell.textContent = n === undefined ? "—" : Number(n).toLocaleString();
        });
      });
  }
  document.addEventListener("DOMContentLoaded", function () { load(document); });
  document.addEventListener("htmx:afterSwap", function (e) { load(e.target); });
})();
