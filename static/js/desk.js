// The desk (admin → Attendees): quick at 8:55 with a queue. The search text is selected so the next name
// replaces it, and each row's buttons submit once (a double tap checks in or prints once).
const search = document.querySelector("[data-desk-search]");
if (search) {
  search.addEventListener("focus", () => search.select());
  if (document.activeElement === search) search.select();
}

for (const form of document.querySelectorAll("form[data-once]")) {
  form.addEventListener("submit", (event) => {
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
    const clicked = event.submitter;
    if (clicked?.name) {
      const keep = document.createElement("input");
      keep.type = "hidden"; keep.name = clicked.name; keep.value = clicked.value;
      form.append(keep);
    }
    for (const button of form.querySelectorAll("button")) button.disabled = true;
  });
}
