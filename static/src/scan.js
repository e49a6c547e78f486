// The scan field for keyboard-wedge scanners (Zebra, Honeywell): the scanner types
// the barcode and presses Enter. Each Enter takes the field's value at that moment
// and empties the field at once, so scans a fraction of a second apart stay
// separate and in order (odoo#3564). Every scan is written to IndexedDB before
// anything else happens with it, so nothing scanned is lost on a reload.
import { db } from './db.js';

/** Keep one scan on the device. IndexedDB runs the writes in the order they start. */
export async function keepScan(userId, value) {
  const record = { user_id: userId, value, at: new Date().toISOString(), synced: false };
  const database = await db();
  record.id = await database.add('scans', record);
  return record;
}

export async function recentScans(userId, limit = 5) {
  const database = await db();
  const all = await database.getAllFromIndex('scans', 'by_user', userId);
  return { total: all.length, recent: all.slice(-limit).reverse() };
}

// -- feedback: a short tone, a vibration and a colour that shows from arm's length

let audio = null;
function beep(frequency = 1320, ms = 70) {
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = frequency;
    gain.gain.value = 0.08;
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + ms / 1000);
  } catch {
    // No audio (a WebView without it, or not allowed yet): the colour still shows.
  }
}

export function acknowledge(box) {
  beep();
  if (navigator.vibrate) navigator.vibrate(40);
  box.classList.remove('flash-ok');
  void box.offsetWidth; // restart the animation for scans in quick succession
  box.classList.add('flash-ok');
}

/** A refused scan: a low, long tone, a double buzz and red. */
export function refuse(box) {
  beep(220, 350);
  if (navigator.vibrate) navigator.vibrate([180, 90, 180]);
  box.classList.remove('flash-bad');
  void box.offsetWidth;
  box.classList.add('flash-bad');
}

/**
 * Wire the scan field: `onScan(value)` for each scan, focus kept on the field
 * while nothing else that takes typing has it.
 */
export function bindScanField(input, { onScan, keyboardButton }) {
  const take = () => {
    const value = input.value.trim();
    input.value = '';
    if (value) onScan(value);
  };
  input.addEventListener('keydown', (event) => {
    // Enter ends a scan; some scanners are set to send Tab instead.
    if (event.key === 'Enter' || (event.key === 'Tab' && input.value)) {
      event.preventDefault();
      take();
    }
  });
  input.form?.addEventListener('submit', (event) => {
    event.preventDefault();
    take();
  });

  // inputmode="none" keeps the on-screen keyboard away (the scanner is the
  // keyboard); the Type button brings it back for a hand-typed code.
  keyboardButton?.addEventListener('click', () => {
    const typing = input.getAttribute('inputmode') !== 'text';
    input.setAttribute('inputmode', typing ? 'text' : 'none');
    keyboardButton.setAttribute('aria-pressed', String(typing));
    input.blur();
    input.focus();
  });

  const refocus = () => {
    const active = document.activeElement;
    if (active === input || document.visibilityState !== 'visible') return;
    // Leave focus alone in another field (a keypad, a search box).
    if (active && active !== document.body
        && active.matches('input, select, textarea, [contenteditable="true"]')) return;
    input.focus({ preventScroll: true });
  };
  input.addEventListener('blur', () => setTimeout(refocus, 0));
  document.addEventListener('visibilitychange', refocus);
  window.addEventListener('focus', refocus);
  document.addEventListener('click', () => setTimeout(refocus, 0));
  refocus();
}
