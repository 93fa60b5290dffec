// Small page helpers: the poster's print button (printing works without it too).
const print = document.getElementById("print-button");
if (print) {
  print.hidden = false;
  print.addEventListener("click", () => window.print());
}

// The CSV import: read a chosen file into the text box (pasting works without this).
const file = document.getElementById("csv-file");
const box = document.getElementById("csv");
if (file && box) {
  document.querySelectorAll(".js-only").forEach((el) => { el.hidden = false; });
  file.addEventListener("change", async () => {
    const f = file.files && file.files[0];
    if (f) box.value = await f.text();
  });
}
