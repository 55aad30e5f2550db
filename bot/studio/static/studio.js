// htmx wires up a form it has just swapped in only when the swap settles (about 20 ms
// later). A submit in that window (typing fast and pressing Enter) would be a plain
// browser submit: the page would reload and the message be lost. Hand it to htmx.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (event.defaultPrevented || !(form instanceof HTMLFormElement) ||
      !form.hasAttribute("hx-post") || typeof htmx === "undefined") {
    return;
  }
  event.preventDefault();
  htmx.process(form);
  htmx.trigger(form, "submit");
});
