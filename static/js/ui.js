// Small behaviours the templates ask for with data- attributes, so that no page needs an inline
// script or event handler: the Content-Security-Policy runs scripts from this site's files only.
(function () {
  "use strict";

  // <form data-confirm="Question?">: asks first; Cancel submits nothing.
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target.closest && event.target.closest("form[data-confirm]");
      if (form && !window.confirm(form.dataset.confirm)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );

  document.addEventListener("click", function (event) {
    if (!event.target.closest) return;
    // <button data-copy="input-id" data-done="Copied">: selects and copies that input's value.
    var button = event.target.closest("[data-copy]");
    if (button) {
      var input = document.getElementById(button.dataset.copy);
      if (!input) return;
      input.select();
      if (navigator.clipboard) navigator.clipboard.writeText(input.value).catch(function () {});
      if (button.dataset.done) button.textContent = button.dataset.done;
      return;
    }
    // <a data-drawer-close="slot-id">: empties the drawer's slot instead of following the link.
    var closer = event.target.closest("[data-drawer-close]");
    if (closer) {
      var slot = document.getElementById(closer.dataset.drawerClose);
      if (slot) {
        slot.innerHTML = "";
        event.preventDefault();
      }
    }
  });

  // <input data-select-on-focus>: its whole text is selected on focus (tokens to copy).
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-select-on-focus]")) {
      event.target.select();
    }
  });
})();
