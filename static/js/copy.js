// Admin: a "Copy" button copies the field it names (data-copy) to the clipboard. The clipboard API needs a secure
// context (https or this machine); elsewhere the text is selected for Ctrl+C.
for (const button of document.querySelectorAll("button[data-copy]")) {
  document.getElementById(button.dataset.copy)?.addEventListener("focus", (event) => event.target.select());
  button.addEventListener("click", async () => {
    const field = document.getElementById(button.dataset.copy);
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
      button.textContent = "Copied";
    } catch {
      document.execCommand?.("copy");
    }
  });
}
