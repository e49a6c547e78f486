// The two ways a stop ends, both done fully offline (UX.md, Drivers):
// - delivered: a photo (the camera, made small on the phone), a signature drawn on
//   the screen, the recipient's name; the app adds where and when itself;
// - a failed attempt: the reason, an optional photo and note.
// The files are kept on the phone by their sha256 and uploaded apart; the report is
// a `delivery.confirm` / `delivery.fail` mutation in the outbox (SYNC.md).
import { t } from '../i18n.js';
import { el } from '../format.js';
import { queue } from '../sync.js';
import { compressPhoto, position, signaturePad } from './media.js';
import { keepFile } from './store.js';

const MAX_PHOTOS = 4; // server/delivery/proof.py

export function proofForms(boot, root, { onDone, onClose }) {
  const forms = {
    confirm: root.querySelector('[data-part="confirm-form"]'),
    fail: root.querySelector('[data-part="fail-form"]'),
  };
  const part = (form, name) => form.querySelector(`[data-part="${name}"]`);
  let open = null; // {kind, stop, photos: [sha256], where: Promise, back}
  let pad = null;

  function error(form, key) {
    const box = part(form, 'form-error');
    box.hidden = !key;
    box.textContent = key ? t(key) : '';
  }

  function renderPhotos(form) {
    const photos = open ? open.photos : [];
    const count = part(form, 'photo-count');
    if (count) count.textContent = photos.length ? t('driver.photos_n', { n: photos.length }) : '';
    part(form, 'photo-previews').replaceChildren(...photos.map((photo) => {
      const img = el('img', 'photo-preview');
      img.alt = t('driver.photo');
      img.src = photo.url;
      return img;
    }));
  }

  function close() {
    if (!open) return;
    for (const photo of open.photos) URL.revokeObjectURL(photo.url);
    const { back } = open;
    open = null;
    for (const form of Object.values(forms)) form.hidden = true;
    if (back) back.hidden = false;
  }

  function show(kind, stop, back) {
    close();
    const form = forms[kind];
    form.reset();
    error(form, null);
    open = { kind, stop, photos: [], back, where: position() };
    if (back) back.hidden = true;
    form.hidden = false;
    form.dataset.stopId = String(stop.id);
    part(form, 'form-stop').textContent = [(stop.address && stop.address.name) || stop.reference,
      stop.address && stop.address.address1].filter(Boolean).join(' · ');
    renderPhotos(form);
    if (kind === 'confirm') {
      if (!pad) pad = signaturePad(part(form, 'signature'));
      pad.fit();
      part(form, 'recipient').value = (stop.address && stop.address.name) || '';
    }
    window.scrollTo(0, 0);
  }

  async function addPhoto(form, input) {
    const file = input.files && input.files[0];
    input.value = '';
    if (!file || !open) return;
    if (open.photos.length >= (open.kind === 'confirm' ? MAX_PHOTOS : 1)) open.photos.shift();
    try {
      const blob = await compressPhoto(file);
      const sha256 = await keepFile(boot.id, blob);
      open.photos.push({ sha256, url: URL.createObjectURL(blob) });
      error(form, null);
    } catch (problem) {
      console.error('photo', problem);
      error(form, 'driver.photo_failed');
    }
    renderPhotos(form);
  }

  async function where() {
    const fix = await open.where;
    return fix ? { lat: fix.lat, lng: fix.lng, accuracy: fix.accuracy } : {};
  }

  async function submitConfirm(form) {
    const recipient = part(form, 'recipient').value.trim();
    if (!recipient) return error(form, 'driver.need_recipient');
    if (!open.photos.length && pad.isEmpty()) return error(form, 'driver.need_proof');
    const signature = pad.isEmpty() ? null : await keepFile(boot.id, await pad.toBlob());
    const args = {
      stop_id: open.stop.id, recipient_name: recipient,
      photo_hashes: open.photos.map((p) => p.sha256), signature_hash: signature,
      ...(await where()),
    };
    return queue('delivery.confirm', args);
  }

  async function submitFail(form) {
    const reason = form.querySelector('input[name="reason"]:checked');
    if (!reason) return error(form, 'driver.need_reason');
    const args = {
      stop_id: open.stop.id, reason: reason.value,
      photo_hash: open.photos.length ? open.photos[0].sha256 : null,
      note: part(form, 'note').value.trim(), ...(await where()),
    };
    return queue('delivery.fail', args);
  }

  for (const [kind, form] of Object.entries(forms)) {
    part(form, 'photo').addEventListener('change', (event) => addPhoto(form, event.target));
    part(form, 'cancel').addEventListener('click', () => { close(); onClose(); });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!open || form.dataset.busy === '1') return;
      form.dataset.busy = '1';
      const submit = part(form, 'submit');
      submit.disabled = true;
      try {
        const row = await (kind === 'confirm' ? submitConfirm(form) : submitFail(form));
        if (row) {
          close();
          onDone(row);
        }
      } catch (problem) {
        console.error('proof', problem);
        error(form, 'driver.save_failed');
      } finally {
        delete form.dataset.busy;
        submit.disabled = false;
      }
    });
  }
  part(forms.confirm, 'signature-clear').addEventListener('click', () => pad && pad.clear());

  return {
    open: show,
    isOpen: () => Boolean(open),
    rerender() {
      if (!open) return;
      renderPhotos(forms[open.kind]);
    },
  };
}
