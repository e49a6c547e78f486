// The proof's parts made on the phone: a photo from the camera made small (JPEG,
// at most 1600 px, quality 0.7), a signature drawn with a finger (PNG), and where
// the phone is (optional: refused or slow, the proof goes without it).

const MAX_SIDE = 1600;
const QUALITY = 0.7;

function canvasBlob(canvas, type, quality) {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('no image'))), type, quality);
  });
}

async function decode(file) {
  if (globalThis.createImageBitmap) {
    try {
      return await createImageBitmap(file, { imageOrientation: 'from-image' });
    } catch {
      return createImageBitmap(file);
    }
  }
  // Older WebViews: through an <img> (the CSP allows blob: images).
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    return img;
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** The camera's file as a JPEG of at most MAX_SIDE px on its longer side. */
export async function compressPhoto(file) {
  const image = await decode(file);
  const width = image.width || image.naturalWidth;
  const height = image.height || image.naturalHeight;
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff'; // a transparent PNG would turn black in a JPEG
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
  if (image.close) image.close();
  return canvasBlob(canvas, 'image/jpeg', QUALITY);
}

/** A signature pad on `canvas` (pointer events: finger, pen or mouse). */
export function signaturePad(canvas, onChange = () => {}) {
  const ctx = canvas.getContext('2d');
  let drawing = false;
  let strokes = 0;
  let last = null;

  function fit() {
    const ratio = window.devicePixelRatio || 1;
    const box = canvas.getBoundingClientRect();
    if (!box.width) return;
    canvas.width = Math.round(box.width * ratio);
    canvas.height = Math.round(box.height * ratio);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    clear();
  }

  function clear() {
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.restore();
    ctx.lineWidth = 2.5;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.strokeStyle = '#111';
    strokes = 0;
    onChange(0);
  }

  const point = (event) => {
    const box = canvas.getBoundingClientRect();
    return { x: event.clientX - box.left, y: event.clientY - box.top };
  };
  canvas.addEventListener('pointerdown', (event) => {
    event.preventDefault();
    canvas.setPointerCapture?.(event.pointerId);
    drawing = true;
    last = point(event);
    ctx.beginPath();
    ctx.arc(last.x, last.y, 1, 0, Math.PI * 2);
    ctx.fillStyle = '#111';
    ctx.fill();
  });
  canvas.addEventListener('pointermove', (event) => {
    if (!drawing) return;
    const p = point(event);
    ctx.beginPath();
    ctx.moveTo(last.x, last.y);
    ctx.lineTo(p.x, p.y);
    ctx.stroke();
    last = p;
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    strokes += 1;
    onChange(strokes);
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  canvas.addEventListener('pointerleave', end);

  return {
    fit,
    clear,
    isEmpty: () => strokes === 0,
    toBlob: () => canvasBlob(canvas, 'image/png'),
  };
}

/** Where the phone is, or null (refused, no fix within `ms`, no GPS at all). */
export function position(ms = 8000) {
  return new Promise((resolve) => {
    if (!navigator.geolocation) {
      resolve(null);
      return;
    }
    const timer = setTimeout(() => resolve(null), ms + 500);
    navigator.geolocation.getCurrentPosition((fix) => {
      clearTimeout(timer);
      resolve({ lat: fix.coords.latitude, lng: fix.coords.longitude,
        accuracy: Math.round(fix.coords.accuracy * 10) / 10 });
    }, () => {
      clearTimeout(timer);
      resolve(null);
    }, { enableHighAccuracy: true, timeout: ms, maximumAge: 60_000 });
  });
}
