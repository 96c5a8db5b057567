// The access links page: revoke a link and show its replacement.

for (const button of document.querySelectorAll(".link-revoke")) {
  button.addEventListener("click", async () => {
    if (!window.confirm(button.dataset.confirm)) return;
    button.disabled = true;
    try {
      const response = await fetch("/api/access/revoke", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ role: button.dataset.role, room: button.dataset.room }),
      });
      if (response.ok) {
        window.location.reload();
        return;
      }
    } catch {
      // offline: say so below
    }
    button.disabled = false;
    button.textContent = button.dataset.failed;
  });
}
