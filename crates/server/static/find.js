// Find a resident as you type (name, pinyin initials, household, number): asks the
// server's search and lists the matches as links that open the resident. Without
// this script the same form is sent and the page lists the matches.
const input = document.getElementById("find");
const list = document.getElementById("find-results");

if (input && list) {
  const region = input.dataset.region;
  let timer = 0;
  let asked = 0;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, 120);
  });

  async function search() {
    const q = input.value.trim();
    const mine = ++asked;
    if (q === "") {
      list.replaceChildren();
      return;
    }
    const started = performance.now();
    let found;
    try {
      const r = await fetch(`/api/v1/regions/${encodeURIComponent(region)}/members/find?limit=10&q=${encodeURIComponent(q)}`,
        { credentials: "same-origin" });
      if (!r.ok) return;
      found = (await r.json()).items;
    } catch (e) {
      return;
    }
    if (mine !== asked) return; // a later keystroke's answer wins
    list.replaceChildren(...found.map((m) => {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = `/r/${encodeURIComponent(region)}/record?member=${m.id}`;
      a.textContent = `${m.name ?? ""} · ${m.household_label} · #${m.id}`;
      li.append(a);
      return li;
    }));
    if (found.length === 0) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = input.dataset.none;
      list.append(li);
    }
    list.dataset.ms = String(Math.round(performance.now() - started));
    list.dataset.query = q;
  }
}
