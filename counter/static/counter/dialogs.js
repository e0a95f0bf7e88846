/* Page dialogs of the staff screens (never window.confirm): QMS.dialog(box, prepare)
   resolves with the form's FormData, or null when cancelled (Esc or the cancel button);
   Enter submits from any field but a button, which Enter presses itself; in a form marked
   data-digits, keys 1-9 pick its choices. */
"use strict";
(function () {
  function dialog(box, prepare) {
    const form = box.querySelector("form");
    const before = document.activeElement;
    return new Promise((resolve) => {
      const done = (value) => {
        form.removeEventListener("submit", submit);
        box.removeEventListener("cancel", cancel);
        box.removeEventListener("click", click);
        box.removeEventListener("keydown", key);
        box.close();
        /* The browser takes the focus out of a closed dialog only at its next frame; a
           shortcut pressed before that would go to the field inside it and be lost. */
        if (box.contains(document.activeElement)) {
          document.activeElement.blur();
          if (before && before !== document.body && before.isConnected) {
            before.focus({preventScroll: true});
          }
        }
        resolve(value);
      };
      const submit = (e) => { e.preventDefault(); done(new FormData(form)); };
      const cancel = (e) => { e.preventDefault(); done(null); };
      const click = (e) => { if (e.target.closest("[data-cancel]")) done(null); };
      const key = (e) => {
        if (e.key === "Enter" && !["BUTTON", "A"].includes(e.target.tagName)) {
          e.preventDefault();
          form.requestSubmit();
        } else if (/^[1-9]$/.test(e.key) && "digits" in form.dataset &&
                   e.target.type !== "text") {
          const radios = form.querySelectorAll("input[type=radio]");  // 1..9 pick a choice
          const pick = radios[Number(e.key) - 1];
          if (pick) { e.preventDefault(); pick.checked = true; pick.focus(); }
        }
      };
      form.addEventListener("submit", submit);
      box.addEventListener("cancel", cancel);
      box.addEventListener("click", click);
      box.addEventListener("keydown", key);
      if (prepare) prepare(form);
      box.showModal();
      (box.querySelector("[data-focus]") || form.querySelector("[type=submit]")).focus();
    });
  }

  /* ask(text): one confirmation; resolves true or false. */
  async function ask(text) {
    const box = document.getElementById("confirm");
    const answer = await dialog(box, () => {
      document.getElementById("confirm-text").textContent = text;
    });
    return answer !== null;
  }

  window.QMS.dialog = dialog;
  window.QMS.ask = ask;
})();
