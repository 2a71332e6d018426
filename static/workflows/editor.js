// The workflow editor: shows the filter builder when the trigger is "Contacts who match
// filters", and lets the actions be added, removed and reordered. Each action's fields are
// named action-<position>-<field>; they are renumbered after every change so the server reads
// them in the order shown. The filter builder itself is static/segments/builder.js.
(function () {
  "use strict";

  var FIELD = /^action-(\d+|__i__|tmp\d+)-/;

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#wf-actions > .wf-action"));
  }

  function rename(row, prefix) {
    row.querySelectorAll("[name], [id], label[for]").forEach(function (node) {
      ["name", "id", "for"].forEach(function (attr) {
        var value = node.getAttribute(attr);
        if (value && FIELD.test(value)) node.setAttribute(attr, value.replace(FIELD, prefix));
      });
    });
  }

  // Two passes, so that two rows never share a radio group (which would uncheck one).
  function renumber() {
    var all = rows();
    var checked = all.map(function (row) {
      return Array.prototype.slice.call(row.querySelectorAll("input[type=radio]:checked"));
    });
    all.forEach(function (row, i) { rename(row, "action-tmp" + i + "-"); });
    all.forEach(function (row, i) {
      rename(row, "action-" + i + "-");
      checked[i].forEach(function (radio) { radio.checked = true; });
      row.querySelector(".wf-action__num").textContent = String(i + 1);
      row.querySelector("[data-move='-1']").disabled = i === 0;
      row.querySelector("[data-move='1']").disabled = i === all.length - 1;
      row.querySelector("[data-remove]").hidden = all.length === 1;
    });
  }

  function showPane(row) {
    var source = row.querySelector("input[data-source]:checked");
    row.querySelectorAll("[data-pane]").forEach(function (pane) {
      pane.hidden = !source || pane.getAttribute("data-pane") !== source.value;
    });
  }

  function wire(row) {
    row.querySelectorAll("input[data-source]").forEach(function (radio) {
      radio.addEventListener("change", function () { showPane(row); });
    });
    var picker = row.querySelector("[data-picker]");
    var typed = row.querySelector("[data-typed]");
    if (picker && typed) {
      picker.addEventListener("change", function () { typed.value = picker.value; });
      typed.addEventListener("input", function () {
        var value = typed.value.trim();
        var known = Array.prototype.some.call(picker.options, function (o) { return o.value === value; });
        picker.value = known ? value : "";
      });
    }
    row.querySelectorAll("[data-move]").forEach(function (button) {
      button.addEventListener("click", function () {
        var list = row.parentNode;
        if (button.getAttribute("data-move") === "-1" && row.previousElementSibling) {
          list.insertBefore(row, row.previousElementSibling);
        } else if (button.getAttribute("data-move") === "1" && row.nextElementSibling) {
          list.insertBefore(row.nextElementSibling, row);
        }
        renumber();
      });
    });
    row.querySelector("[data-remove]").addEventListener("click", function () {
      if (rows().length > 1) { row.remove(); renumber(); }
    });
  }

  function showTrigger() {
    var chosen = document.querySelector("input[name=trigger_type]:checked");
    var filters = chosen && chosen.value === "filters";
    document.getElementById("wf-filters").hidden = !filters;
    document.querySelectorAll("[data-trigger-help]").forEach(function (node) {
      node.hidden = !chosen || node.getAttribute("data-trigger-help") !== chosen.value;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var list = document.getElementById("wf-actions");
    if (!list) return;
    document.querySelectorAll("input[name=trigger_type]").forEach(function (radio) {
      radio.addEventListener("change", showTrigger);
    });
    rows().forEach(wire);
    document.getElementById("wf-add-action").addEventListener("click", function () {
      var template = document.getElementById("wf-action-template");
      var row = template.content.firstElementChild.cloneNode(true);
      list.appendChild(row);
      wire(row);
      renumber();
      showPane(row);
    });
    renumber();
  });
})();
