// Camera scanning, loaded only when someone taps the camera button (never on the
// first screen). The browser's BarcodeDetector where it has one that reads our
// formats; else the ZXing WebAssembly polyfill, whose .wasm build.mjs copies to
// /static/dist/zxing_reader.wasm: served by this server, never a CDN.
import { BarcodeDetector as Polyfill, prepareZXingModule } from 'barcode-detector/ponyfill';

const FORMATS = ['code_128', 'ean_13', 'upc_a', 'qr_code', 'data_matrix', 'code_39', 'ean_8', 'upc_e'];
const WASM_URL = '/static/dist/zxing_reader.wasm';

async function detector() {
  if ('BarcodeDetector' in window) {
    try {
      const supported = await window.BarcodeDetector.getSupportedFormats();
      const formats = FORMATS.filter((f) => supported.includes(f));
      if (formats.length) return new window.BarcodeDetector({ formats });
    } catch {
      // A stub without formats (desktop Chromium on Linux): use the polyfill.
    }
  }
  prepareZXingModule({
    overrides: { locateFile: (path, prefix) => (path.endsWith('.wasm') ? WASM_URL : prefix + path) },
  });
  return new Polyfill({ formats: FORMATS });
}

/** Start the back camera in `video`; `onCode(value)` once per code read. Returns stop(). */
async function start(video, onCode) {
  const reader = await detector();
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: { ideal: 'environment' } }, audio: false,
  });
  video.srcObject = stream;
  await video.play();
  let stopped = false;
  let last = '';
  let lastAt = 0;
  const stop = () => {
    stopped = true;
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  };
  const tick = async () => {
    if (stopped) return;
    try {
      const codes = await reader.detect(video);
      const value = codes.length ? codes[0].rawValue : '';
      const now = Date.now();
      if (value && (value !== last || now - lastAt > 1500)) {
        last = value;
        lastAt = now;
        onCode(value);
      }
    } catch {
      // A frame not ready yet: try the next one.
    }
    if (!stopped) setTimeout(tick, 150);
  };
  tick();
  return stop;
}

window.HaicangCamera = { start };
