(function () {
  "use strict";
  var table = document.getElementById("events");
  if (!table) { return; }
  var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr.ev"));
  var type = document.getElementById("f-type");
  var status = document.getElementById("f-status");
  var text = document.getElementById("f-text");
  var count = document.getElementById("f-count");
  function apply() {
    var t = type.value, s = status.value, q = text.value.trim().toLowerCase(), shown = 0;
    rows.forEach(function (row) {
      var ok = (!t || row.getAttribute("data-type") === t) &&
               (!s || row.getAttribute("data-status") === s) &&
               (!q || row.getAttribute("data-search").indexOf(q) !== -1);
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " events";
  }
  [type, status].forEach(function (el) { el.addEventListener("change", apply); });
  text.addEventListener("input", apply);
  function expand(open) {
    return function () {
      rows.forEach(function (row) {
        if (!row.hidden) { row.querySelectorAll("details").forEach(function (d) { d.open = open; }); }
      });
    };
  }
  document.getElementById("expand-all").addEventListener("click", expand(true));
  document.getElementById("collapse-all").addEventListener("click", expand(false));
  document.getElementById("filters").hidden = false;
  apply();
})();
