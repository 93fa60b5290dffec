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

// A reward's picture: a large photo is made at most 600 pixels wide (JPEG) before it
// is sent, so a phone photo fits the 200 KB the server keeps. Without this the
// server takes pictures up to that size and says so for a larger one.
for (const input of document.querySelectorAll("input[type=file][data-resize]")) {
  input.addEventListener("change", async () => {
    const file = input.files && input.files[0];
    const max = Number(input.dataset.resize);
    if (!file || !file.type.startsWith("image/")) return;
    try {
      const img = await createImageBitmap(file);
      if (img.width <= max && file.size <= 150 * 1024) return;
      const scale = Math.min(1, max / img.width);
      const canvas = document.createElement("canvas");
      canvas.width = Math.round(img.width * scale);
      canvas.height = Math.round(img.height * scale);
      canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
      const blob = await new Promise((done) => canvas.toBlob(done, "image/jpeg", 0.85));
      if (!blob) return;
      const dt = new DataTransfer();
      dt.items.add(new File([blob], file.name.replace(/\.\w+$/, "") + ".jpg", { type: "image/jpeg" }));
      input.files = dt.files;
    } catch (e) {
      // Sent as chosen; the server says if it is too large.
    }
  });
}
