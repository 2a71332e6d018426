// The workflow editor's trigger: shows the filter builder when the trigger is "Contacts who
// match filters" (static/segments/builder.js). The steps are static/workflows/flow.js.
(function () {
  "use strict";

  function showTrigger() {
    var chosen = document.querySelector("input[name=trigger_type]:checked");
    var filters = chosen && chosen.value === "filters";
    document.getElementById("wf-filters").hidden = !filters;
    document.querySelectorAll("[data-trigger-help]").forEach(function (node) {
      node.hidden = !chosen || node.getAttribute("data-trigger-help") !== chosen.value;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!document.getElementById("wf-filters")) return;
    document.querySelectorAll("input[name=trigger_type]").forEach(function (radio) {
      radio.addEventListener("change", showTrigger);
    });
  });
})();
