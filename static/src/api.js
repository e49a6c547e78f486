// fetch() for our JSON API: the CSRF header on every state-changing call, one error
// type for every non-2xx answer ({error, message, fields} from the server), and a
// NetworkError when the server cannot be reached, so screens can say which it was.
import { setOnline } from './net.js';

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.error) || 'http_error';
    this.fields = (body && body.fields) || {};
    this.body = body || {}; // the data an error carries beside its text (a limit, ...)
  }
}

export class NetworkError extends Error {}

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : '';
}

export function setCsrfToken(token) {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && token) meta.content = token;
}

async function send(path, method, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') headers['X-CSRFToken'] = csrfToken();
  let response;
  try {
    response = await fetch(path, {
      method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    setOnline(false);
    throw new NetworkError(String(error));
  }
  // The service worker marks answers it gave from its saved copy (see sw.js).
  const fromCache = response.headers.get('X-Haicang-Offline') === '1';
  let data = null;
  if ((response.headers.get('Content-Type') || '').includes('json')) {
    data = await response.json().catch(() => null);
  }
  if (response.status === 503 && data && data.error === 'offline') {
    setOnline(false);
    throw new NetworkError(data.message);
  }
  setOnline(!fromCache);
  if (!response.ok) throw new ApiError(response.status, data);
  return { data, fromCache };
}

/**
 * Call the API. A 400 csrf_failed (the session was renewed in another tab, or the
 * page came from the offline cache) gets one fresh token and one retry.
 */
export async function api(path, { method = 'GET', body } = {}) {
  try {
    return await send(path, method, body);
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== 'csrf_failed') throw error;
    const fresh = await send('/api/auth/csrf', 'GET');
    setCsrfToken(fresh.data.csrf_token);
    return send(path, method, body);
  }
}
