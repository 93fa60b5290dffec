// Small page helpers: the poster's print button (printing works without it too).
const print = document.getElementById("print-button");
if (print) {
  print.hidden = false;
  print.addEventListener("click", () => window.print());
}
