// Scan a QR code (a check-in link, or a redemption code at the merchant) with the phone camera where the browser has the
// BarcodeDetector API; otherwise the typed-link form below does the same job.
const box = document.getElementById("scanner");
const status = document.getElementById("scan-status");
// Where a scanned code goes: the page names the input and the form to send.
const input = document.getElementById(box?.dataset.input ?? "link");
const form = document.getElementById(box?.dataset.form ?? "scan-typed");

if (box && "BarcodeDetector" in window && navigator.mediaDevices) {
  box.hidden = false;
  document.getElementById("scan-start").addEventListener("click", start);
} else if (status && box) {
  status.textContent = box.dataset.nocamera;
}

async function start() {
  const video = document.getElementById("scan-video");
  let stream;
  try {
    const detector = new BarcodeDetector({ formats: ["qr_code"] });
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    for (;;) {
      const codes = await detector.detect(video);
      if (codes.length > 0) {
        input.value = codes[0].rawValue;
        stream.getTracks().forEach((t) => t.stop());
        form.submit();
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch (e) {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    status.textContent = box.dataset.nocamera;
  }
}
