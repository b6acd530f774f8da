// Submit a filter form as soon as one of its <select data-autosubmit> changes (the pages keep a
// <noscript> button for visitors without JavaScript). A listener, not onchange="", so the
// Content Security Policy can forbid inline script.
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field instanceof HTMLSelectElement && field.matches("[data-autosubmit]") && field.form) {
    field.form.requestSubmit();
  }
});
