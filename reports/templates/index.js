// Sort the runs table by a column: click a header, click again to reverse.
(function () {
  "use strict";
  var table = document.getElementById("runs");
  if (!table) return;
  var body = table.tBodies[0];
  table.querySelectorAll("th button").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var col = +btn.dataset.col, num = btn.dataset.type === "num";
      var asc = btn.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th button").forEach(function (b) { b.removeAttribute("aria-sort"); });
      btn.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var rows = Array.from(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].dataset.sort || "", y = b.cells[col].dataset.sort || "";
        var c = num ? (parseFloat(x) || 0) - (parseFloat(y) || 0) : x.localeCompare(y);
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
})();
