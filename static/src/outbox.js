// The outbox of floor mutations (../shared/design/SYNC.md), shared by the page and
// the service worker (Background Sync): no DOM in here.
//
// - enqueue(): a scan becomes {user_id, id, name, args, at} at once, status "pending".
//   The id is 1, 2, 3 … per user of the device, taken from meta.next_id:<user> in the SAME transaction that
//   adds the row, so several tabs (and the worker) never hand out one id twice.
// - flush(): pushes the pending rows in id order; each result sets its row's status
//   (synced, conflict, rejected) and detail. A failed push changes nothing: the rows
//   stay pending for the next try. A gap (the server's last_mutation_id behind rows
//   we hold as answered) sends those rows again.
// - undo(): the last scan, while still pending, becomes a no-op "scan.undone" with
//   the same id (ids must have no gaps: the server applies it as a no-op). If it
//   was already on its way, the server's answer wins and the row says so.
// - pull(): GET /api/sync/pull from the stored cursor into the tasks and stock stores.
import { db, getMeta, setMeta } from './db.js';

const BATCH = 200;
const KEEP_ANSWERED = 300; // answered rows kept for the screens; conflicts until seen
const UNDONE = 'scan.undone';
const listeners = new Set();

// The logged-in user: every row, device id and counter is theirs (a shared handheld
// keeps one queue per person; only the logged-in person's rows are pushed, under
// their own device id). The page sets it; the service worker reads it from meta.
let currentUser = null;
let pinned = false; // set by the page; the worker reads meta each time
let ready = Promise.resolve();

/** Make `userId` this device's user: claims rows kept before queues were per user. */
export function useUser(userId) {
  currentUser = userId;
  pinned = true;
  ready = claim(userId).catch((error) => console.error('outbox: user', error));
  return ready;
}

async function claim(userId) {
  const database = await db();
  const tx = database.transaction(['outbox', 'meta', 'tasks', 'stock', 'task_lines'], 'readwrite');
  const meta = tx.objectStore('meta');
  const store = tx.objectStore('outbox');
  const legacy = await store.getAll(IDBKeyRange.bound([0, -Infinity], [0, Infinity]));
  if (legacy.length || (await meta.get('device_id'))) {
    for (const key of ['device_id', 'next_id', 'server_last']) {
      const row = await meta.get(key);
      if (row && !(await meta.get(`${key}:${userId}`))) await meta.put({ key: `${key}:${userId}`, value: row.value });
      if (row) await meta.delete(key);
    }
    for (const row of legacy) {
      await store.delete([0, row.id]);
      await store.put({ ...row, user_id: userId });
    }
  }
  // Another person's tasks and stock are not this one's: pull their scope afresh.
  const last = await meta.get('last_user');
  if (last && last.value !== userId) {
    for (const name of ['tasks', 'stock', 'task_lines']) await tx.objectStore(name).clear();
    await meta.delete('cursor');
  }
  await meta.put({ key: 'current_user', value: userId });
  await meta.put({ key: 'last_user', value: userId });
  await tx.done;
}

async function me() {
  if (pinned) {
    await ready;
    return currentUser;
  }
  return getMeta('current_user', null);
}

/** Forget who is logged in (their queue stays for their next log-in). */
export async function leaveUser() {
  currentUser = null;
  ready = Promise.resolve();
  await setMeta('current_user', null);
}

const mineRange = (user) => IDBKeyRange.bound([user, -Infinity], [user, Infinity]);

/** fn(kind) after the outbox ('outbox') or the pulled data ('data') changed. */
export function onOutboxChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
export function notify(kind) {
  for (const fn of listeners) {
    try { fn(kind); } catch (error) { console.error(error); }
  }
}

function uuid() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** This installation's id for the user, made once (in a transaction: two tabs agree). */
export async function deviceId() {
  const user = await me();
  const database = await db();
  const tx = database.transaction('meta', 'readwrite');
  let row = await tx.store.get(`device_id:${user}`);
  if (!row) {
    row = { key: `device_id:${user}`, value: uuid() };
    await tx.store.put(row);
  }
  await tx.done;
  return row.value;
}

/** Queue one mutation; resolves with its row once it is safely on the device. */
export async function enqueue(name, args, extra = {}) {
  const at = new Date().toISOString();
  const user = await me();
  if (user === null) throw new Error('nobody is logged in');
  const database = await db();
  const tx = database.transaction(['outbox', 'meta'], 'readwrite');
  const meta = tx.objectStore('meta');
  const counter = await meta.get(`next_id:${user}`);
  const id = counter ? counter.value : 1;
  await meta.put({ key: `next_id:${user}`, value: id + 1 });
  const row = { ...extra, user_id: user, id, name, args, at, status: 'pending' };
  await tx.objectStore('outbox').add(row);
  await tx.done;
  notify('outbox');
  return row;
}

const inFlight = new Set(); // ids this context is sending right now

/** Undo the newest mutation if `accept(row)` and it is still pending here. */
export async function undo(accept = () => true) {
  const user = await me();
  const database = await db();
  const tx = database.transaction('outbox', 'readwrite');
  const cursor = await tx.store.openCursor(mineRange(user), 'prev');
  const row = cursor && cursor.value;
  if (!row || row.status !== 'pending' || row.name === UNDONE || inFlight.has(row.id)
      || !accept(row)) {
    await tx.done;
    return null;
  }
  const undone = { ...row, name: UNDONE, args: { undo_of: row.name }, undone: { name: row.name, args: row.args } };
  await cursor.update(undone);
  await tx.done;
  notify('outbox');
  return row;
}

/** Rows newest first; `filter(row)` to pick some. */
export async function outboxRows(filter = () => true, limit = 50) {
  const user = await me();
  const database = await db();
  const rows = [];
  let cursor = await database.transaction('outbox').store.openCursor(mineRange(user), 'prev');
  while (cursor && rows.length < limit) {
    if (filter(cursor.value)) rows.push(cursor.value);
    cursor = await cursor.continue();
  }
  return rows;
}

/** {pending, attention}: scans waiting to go, answers a person must see. */
export async function outboxCounts() {
  const user = await me();
  const database = await db();
  const pending = await database.countFromIndex('outbox', 'by_user_status', [user, 'pending']);
  const conflicts = await database.getAllFromIndex('outbox', 'by_user_status', [user, 'conflict']);
  const rejected = await database.getAllFromIndex('outbox', 'by_user_status', [user, 'rejected']);
  const attention = [...conflicts, ...rejected].filter((r) => !r.acknowledged).length;
  return { pending, attention };
}

export async function acknowledge(id) {
  const user = await me();
  const database = await db();
  const tx = database.transaction('outbox', 'readwrite');
  const row = await tx.store.get([user, id]);
  if (row) await tx.store.put({ ...row, acknowledged: new Date().toISOString() });
  await tx.done;
  notify('outbox');
}

/** Highest id whose answer we hold: data fetched now reflects everything up to it. */
export async function answeredMark() {
  return getMeta(`server_last:${await me()}`, 0);
}

function withLock(fn) {
  const locks = globalThis.navigator && navigator.locks;
  return locks && locks.request ? locks.request('haicang-outbox', fn) : fn();
}

let flushing = null;

/**
 * Push everything pending. transport.post(path, body) resolves with the JSON
 * answer or throws (no network, server error): then nothing changes here.
 * Resolves {ok, pushed, results}.
 */
export function flush(transport) {
  if (!flushing) {
    flushing = withLock(() => flushOnce(transport)).finally(() => { flushing = null; });
  }
  return flushing;
}

async function flushOnce(transport) {
  const user = await me();
  if (user === null) return { ok: true, results: [] }; // nobody logged in: nothing of theirs to send
  const database = await db();
  const device = await deviceId();
  const results = [];
  for (let round = 0; round < 100; round += 1) {
    const pending = (await database.getAllFromIndex('outbox', 'by_user_status', [user, 'pending']))
      .sort((a, b) => a.id - b.id).slice(0, BATCH);
    if (!pending.length) break;
    pending.forEach((row) => inFlight.add(row.id));
    let answer;
    try {
      answer = await transport.post('/api/sync/push', {
        device_id: device,
        sent_at: new Date().toISOString(),
        mutations: pending.map(({ id, name, args, at }) => ({ id, name, args, at })),
      });
    } catch (error) {
      return { ok: false, error, results };
    } finally {
      pending.forEach((row) => inFlight.delete(row.id));
    }
    const tx = database.transaction(['outbox', 'meta'], 'readwrite');
    const store = tx.objectStore('outbox');
    for (const result of answer.results || []) {
      const row = await store.get([user, result.id]);
      if (!row) continue;
      let status = result.status === 'applied' ? 'synced' : result.status;
      if (row.name === UNDONE && status !== 'conflict') status = 'undone'; // a no-op
      await store.put({ ...row, status, detail: result.detail || {},
        replayed: Boolean(result.replayed), answered_at: new Date().toISOString() });
      results.push({ ...result, row });
    }
    const last = Number(answer.last_mutation_id) || 0;
    await tx.objectStore('meta').put({ key: `server_last:${user}`, value: last });
    // A gap: rows after the server's last id that we hold as answered go again.
    const behind = await store.getAll(IDBKeyRange.bound([user, last], [user, Infinity], true, false));
    let resent = 0;
    for (const row of behind) {
      if (row.status !== 'pending' && !(answer.results || []).some((r) => r.id === row.id)) {
        await store.put({ ...row, status: 'pending' });
        resent += 1;
      }
    }
    await tx.done;
    notify('outbox');
    if (!(answer.results || []).length && !resent) break; // no progress: try later
  }
  await prune(database);
  return { ok: true, results };
}

async function prune(database) {
  const tx = database.transaction('outbox', 'readwrite');
  let kept = 0;
  let cursor = await tx.store.openCursor(null, 'prev');
  while (cursor) {
    const row = cursor.value;
    const needsPerson = (row.status === 'conflict' || row.status === 'rejected') && !row.acknowledged;
    if (row.status !== 'pending' && !needsPerson) {
      kept += 1;
      if (kept > KEEP_ANSWERED) await cursor.delete();
    }
    cursor = await cursor.continue();
  }
  await tx.done;
}

/** Pull what changed since the stored cursor into the tasks and stock stores. */
export async function pull(transport) {
  const database = await db();
  const cursor = await getMeta('cursor', '');
  const data = await transport.get(`/api/sync/pull?cursor=${encodeURIComponent(cursor || '')}`);
  const tx = database.transaction(['tasks', 'stock', 'meta'], 'readwrite');
  if (data.reset) {
    await tx.objectStore('tasks').clear();
    await tx.objectStore('stock').clear();
  }
  for (const name of ['tasks', 'stock']) {
    const store = tx.objectStore(name);
    for (const row of (data.changes && data.changes[name]) || []) {
      if (row.deleted) await store.delete(row.id);
      else await store.put(row);
    }
  }
  await tx.objectStore('meta').put({ key: 'cursor', value: data.cursor });
  await tx.done;
  notify('data');
  return data;
}

export async function localRows(store) {
  return (await db()).getAll(store);
}

export async function localGet(store, key) {
  return (await db()).get(store, key);
}

export async function localPut(store, row) {
  await (await db()).put(store, row);
}

export { UNDONE };
