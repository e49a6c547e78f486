// What the driver's app keeps on the phone (IndexedDB through db.js), so the day's
// route opens and works with no network:
// - the routes as GET /api/driver/routes last gave them (meta driver_routes:<user>);
// - photos and signatures by their sha256 (store proof_files) until the server has
//   them: PUT /api/delivery/proofs/<sha256>, the body the file's bytes (then the
//   bytes are dropped from the phone, the hash kept);
// - the confirms and fails themselves are mutations in the one outbox (outbox.js),
//   `delivery.confirm` / `delivery.fail`, pushed by sync.js like the floor's scans.
import { api, csrfToken, NetworkError, setCsrfToken } from '../api.js';
import { db, getMeta, setMeta } from '../db.js';
import { outboxRows } from '../outbox.js';
import { setOnline } from '../net.js';

export const MUTATIONS = ['delivery.confirm', 'delivery.fail'];

const routesKey = (user) => `driver_routes:${user}`;

/** The routes kept on the device: {routes, fetched_at} or null. */
export async function savedRoutes(user) {
  return getMeta(routesKey(user), null);
}

/** Fresh routes from the server, kept on the device; throws when out of reach. */
export async function fetchRoutes(user) {
  const { data, fromCache } = await api('/api/driver/routes');
  if (fromCache) throw new NetworkError('saved copy');
  const row = { routes: data, fetched_at: new Date().toISOString() };
  await setMeta(routesKey(user), row);
  return row;
}

/** The stops of the kept routes, in driving order (route by route). */
export function stopsOf(saved) {
  const stops = [];
  for (const route of (saved && saved.routes) || []) {
    for (const stop of [...route.stops].sort((a, b) => a.sequence - b.sequence)) {
      stops.push({ ...stop, proof: (route.proofs || {})[String(stop.id)] || null });
    }
  }
  return stops;
}

// -- files by content hash -----------------------------------------------------------

export async function sha256Hex(blob) {
  const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Keep a photo or signature on the device; resolves with its sha256. */
export async function keepFile(user, blob) {
  const sha256 = await sha256Hex(blob);
  const database = await db();
  const had = await database.get('proof_files', sha256);
  if (!had) {
    await database.put('proof_files', {
      sha256, user_id: user, type: blob.type || 'image/jpeg', blob, uploaded: 0,
      kept_at: new Date().toISOString(),
    });
  }
  return sha256;
}

export async function fileRows(user) {
  return (await (await db()).getAll('proof_files')).filter((row) => row.user_id === user);
}

async function put(row, retry = true) {
  let response;
  try {
    response = await fetch(`/api/delivery/proofs/${row.sha256}`, {
      method: 'PUT', credentials: 'same-origin', body: row.blob,
      headers: { 'Content-Type': row.type, 'X-CSRFToken': csrfToken(), Accept: 'application/json' },
    });
  } catch (error) {
    setOnline(false);
    throw new NetworkError(String(error));
  }
  if (response.status === 400 && retry) {
    const body = await response.clone().json().catch(() => null);
    if (body && body.error === 'csrf_failed') {
      const fresh = await api('/api/auth/csrf');
      setCsrfToken(fresh.data.csrf_token);
      return put(row, false);
    }
  }
  return response;
}

let uploading = null;

/** Send every file not yet on the server; resolves {sent, failed}. */
export function uploadFiles(user) {
  if (!uploading) uploading = uploadOnce(user).finally(() => { uploading = null; });
  return uploading;
}

async function uploadOnce(user) {
  const database = await db();
  let sent = 0;
  let failed = 0;
  for (const row of await fileRows(user)) {
    if (row.uploaded) continue;
    const response = await put(row); // a NetworkError stops the round: later
    if (response.ok) {
      // The server has it: the bytes go, the hash stays (the stop's state reads it).
      await database.put('proof_files', { ...row, blob: null, uploaded: 1,
        uploaded_at: new Date().toISOString() });
      sent += 1;
    } else {
      failed += 1;
      const body = await response.json().catch(() => null);
      await database.put('proof_files', { ...row, error: (body && body.message) || `HTTP ${response.status}` });
    }
  }
  return { sent, failed };
}

// -- how each stop stands ---------------------------------------------------------------

/**
 * Per stop id: {state, outcome, row} where state is
 *   'queued'    done on the phone, its mutation or a file not on the server yet;
 *   'sent'      mutation and files on the server, the route not fetched since;
 *   'confirmed' the server's route says delivered / failed, with every file;
 *   'rejected'  the server refused it (detail says why);
 *   null        nothing done yet.
 */
export async function stopStates(user, stops) {
  const rows = await outboxRows((row) => MUTATIONS.includes(row.name), 300);
  const files = new Map((await fileRows(user)).map((row) => [row.sha256, row]));
  const states = {};
  for (const stop of stops) {
    const mine = rows.find((row) => row.args && row.args.stop_id === stop.id); // newest first
    const proof = stop.proof;
    const serverDone = proof && proof.outcome && (proof.missing || []).length === 0;
    if (serverDone && (!mine || mine.status !== 'pending')) {
      states[stop.id] = { state: 'confirmed', outcome: proof.outcome, row: mine || null };
      continue;
    }
    if (!mine) {
      states[stop.id] = { state: null, outcome: null, row: null };
      continue;
    }
    const outcome = mine.name === 'delivery.confirm' ? 'delivered' : 'failed';
    const hashes = [...(mine.args.photo_hashes || []), mine.args.signature_hash, mine.args.photo_hash]
      .filter(Boolean);
    const filesIn = hashes.every((h) => !files.has(h) || files.get(h).uploaded);
    let state = 'queued';
    if (mine.status === 'rejected' || mine.status === 'conflict') state = 'rejected';
    else if (mine.status === 'synced' && filesIn) state = 'sent';
    states[stop.id] = { state, outcome, row: mine };
  }
  return states;
}
