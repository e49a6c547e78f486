// The channel screens of sellers and admins (/channels, /channels/exceptions,
// /channels/dead-letters): each marketplace account with its health and an edit form
// (credentials can be replaced, never shown: the API never returns them); held
// orders with the channel SKU that holds them, fixed from the phone by mapping it
// to one of the seller's SKUs (a multipack: 1 channel unit = N units) and releasing
// the order; dead letters with their reason and raw payload, replayed once fixed.
// Data from the API; offline, the service worker's saved answers (marked as such).
import { api, ApiError, NetworkError } from './api.js';
import { currentLocale, t } from './i18n.js';
import {
  channelBadge, dateTime, day, debounce, el, number, savedDataNote, statusBadge, statusName,
  tn, toast,
} from './format.js';

function errorText(error) {
  if (error instanceof NetworkError) return t('err.offline_action');
  return (error && error.message) || t('err.server', { status: (error && error.status) || '?' });
}

/** "5 minutes ago" / "5分钟前" (Intl.RelativeTimeFormat), or the date when old. */
export function relativeTime(iso, now = Date.now()) {
  if (!iso) return t('channels.never');
  const then = new Date(iso).getTime();
  if (Number.isNaN(then)) return iso;
  const seconds = Math.round((then - now) / 1000);
  const abs = Math.abs(seconds);
  try {
    const rtf = new Intl.RelativeTimeFormat(currentLocale(), { numeric: 'auto' });
    if (abs < 45) return rtf.format(0, 'second');
    if (abs < 45 * 60) return rtf.format(Math.round(seconds / 60), 'minute');
    if (abs < 22 * 3600) return rtf.format(Math.round(seconds / 3600), 'hour');
    if (abs < 7 * 86400) return rtf.format(Math.round(seconds / 86400), 'day');
  } catch {
    // very old WebView: the date reads fine
  }
  return dateTime(iso);
}

function field(id, label, input, hint) {
  const box = el('div', 'field');
  const lab = el('label', '', label);
  lab.htmlFor = id;
  input.id = id;
  const error = el('p', 'field-error');
  error.id = `${id}-error`;
  error.hidden = true;
  error.setAttribute('role', 'alert');
  const described = [error.id];
  box.append(lab);
  if (hint) {
    const note = el('p', 'field-hint muted', hint);
    note.id = `${id}-hint`;
    described.push(note.id);
    box.append(note);
  }
  input.setAttribute('aria-describedby', described.join(' '));
  // An error goes as soon as the person changes what it was about.
  input.addEventListener('input', () => fieldError(input, ''));
  box.append(input, error);
  return box;
}

function fieldError(input, message) {
  const error = document.getElementById(`${input.id}-error`);
  if (!error) return;
  if (message) {
    input.setAttribute('aria-invalid', 'true');
    error.textContent = message;
    error.hidden = false;
  } else {
    input.removeAttribute('aria-invalid');
    error.textContent = '';
    error.hidden = true;
  }
}

function formErrorBox() {
  const box = el('p', 'form-error');
  box.hidden = true;
  box.setAttribute('role', 'alert');
  return box;
}

function say(box, text) {
  box.textContent = text || '';
  box.hidden = !text;
}

/** The API's {fields} next to their inputs (`inputs`: API field name -> input); the
 *  rest, or a network failure, in the form's own error line. */
function showErrors(error, inputs, formError) {
  for (const input of Object.values(inputs)) fieldError(input, '');
  say(formError, '');
  if (!(error instanceof ApiError)) {
    say(formError, errorText(error));
    return;
  }
  const rest = [];
  for (const [name, messages] of Object.entries(error.fields || {})) {
    const text = (messages || []).join(' ');
    if (inputs[name]) fieldError(inputs[name], text);
    else rest.push(text);
  }
  if (rest.length || !Object.keys(error.fields || {}).length) {
    say(formError, [error.message, ...rest].filter(Boolean).join(' · ') || errorText(error));
  }
  const first = Object.values(inputs).find((i) => i.getAttribute('aria-invalid') === 'true');
  if (first) first.focus();
}

function number0(value) {
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 ? n : null;
}

/** The counts on the three screens' sub-navigation. */
function setCounts(counts) {
  for (const [name, n] of Object.entries(counts)) {
    for (const node of document.querySelectorAll(`[data-count-of="${name}"]`)) {
      node.textContent = n ? `(${number(n)})` : '';
      node.classList.toggle('sub-count-alert', n > 0);
    }
  }
}

const SHOWN = Symbol('shown'); // an error already shown next to its field
const sameAccount = (a, channel, key) => a.channel === channel && a.account_key === key;

/** Accounts and held orders together (both screens need both); a failed
 *  exceptions call leaves the accounts usable. */
async function loadAccountsAndHeld() {
  const [accounts, held] = await Promise.allSettled([
    api('/api/channels/accounts'), api('/api/channels/exceptions')]);
  if (accounts.status === 'rejected') throw accounts.reason;
  const out = { accounts: accounts.value.data, fromCache: accounts.value.fromCache, held: null };
  if (held.status === 'fulfilled') {
    out.held = held.value.data;
    out.fromCache = out.fromCache || held.value.fromCache;
  }
  setCounts({
    held: out.held ? out.held.length : 0,
    deadletters: out.accounts.reduce((n, a) => n + (a.dead_letters || 0), 0),
  });
  return out;
}

/** A list screen's load-and-say: "loading", the saved copy note, the errors. */
function listState(root) {
  const part = (name) => root.querySelector(`[data-part="${name}"]`);
  return {
    part,
    list: part('list'),
    empty: part('empty'),
    status: part('status'),
    loading(hasItems) {
      this.status.hidden = hasItems;
      this.status.textContent = t('common.loading');
    },
    failed(error, hasItems) {
      this.status.hidden = false;
      if (error instanceof NetworkError) {
        this.status.textContent = hasItems ? t('err.network') : t('channels.no_saved');
      } else {
        this.status.textContent = errorText(error);
      }
    },
  };
}

// -- accounts --------------------------------------------------------------------------

export function channelsScreen(boot, root) {
  const view = listState(root);
  let accounts = [];
  let held = [];
  let loaded = false;
  let fromCache = false;
  let editing = null; // the account id whose form is open
  let seq = 0;

  function heldFor(account) {
    return held.filter((o) => sameAccount(account, o.channel, o.account_key)).length;
  }

  function fact(label, value, className) {
    const row = el('div', `fact ${className || ''}`.trim());
    const dd = el('dd');
    if (value instanceof Node) dd.append(value); else dd.textContent = value;
    row.append(el('dt', '', label), dd);
    return row;
  }

  function editForm(a) {
    const form = el('form', 'account-form confirm');
    form.noValidate = true;
    const id = (name) => `acct-${a.id}-${name}`;
    const name = el('input');
    name.type = 'text';
    name.maxLength = 100;
    name.value = a.name || '';
    name.autocomplete = 'off';
    const buffer = el('input');
    buffer.type = 'number';
    buffer.inputMode = 'numeric';
    buffer.min = '0';
    buffer.step = '1';
    buffer.value = String(a.buffer ?? 0);
    const cap = el('input');
    cap.type = 'number';
    cap.inputMode = 'numeric';
    cap.min = '0';
    cap.step = '1';
    cap.value = a.cap === null || a.cap === undefined ? '' : String(a.cap);
    cap.placeholder = t('channels.no_cap');
    const activeBox = el('label', 'check');
    const active = el('input');
    active.type = 'checkbox';
    active.id = id('active');
    active.checked = Boolean(a.active);
    activeBox.append(active, el('span', '', t('channels.active_label')));
    // Credentials: written only. The field starts empty whatever is stored.
    const secret = el('textarea', 'secret-input');
    secret.rows = 3;
    secret.autocomplete = 'off';
    secret.spellcheck = false;
    secret.setAttribute('autocapitalize', 'off');
    secret.placeholder = '{"access_token": "…"}';
    const formError = formErrorBox();
    const save = el('button', 'btn btn-primary', t('channels.save'));
    save.type = 'submit';
    const cancel = el('button', 'btn', t('channels.cancel'));
    cancel.type = 'button';
    cancel.addEventListener('click', () => {
      editing = null;
      render();
    });
    const row = el('div', 'action-row');
    row.append(cancel, save);
    const pair = el('div', 'field-pair');
    pair.append(field(id('buffer'), t('channels.buffer'), buffer),
      field(id('cap'), t('channels.cap'), cap));
    form.append(
      field(id('name'), t('channels.name'), name),
      pair,
      el('p', 'field-hint muted', t('channels.buffer_hint')),
      activeBox,
      field(id('credentials'), t('channels.replace_credentials'), secret,
        a.has_credentials ? t('channels.credentials_kept') : t('channels.credentials_none')),
      formError, row);
    const inputs = { name, buffer, cap, credentials: secret };
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      for (const input of Object.values(inputs)) fieldError(input, '');
      say(formError, '');
      const body = { name: name.value.trim(), active: active.checked };
      let bad = null;
      const b = number0(buffer.value);
      if (b === null) bad = bad || [buffer, t('channels.err_whole')];
      else body.buffer = b;
      if (cap.value.trim() === '') body.cap = null;
      else if (number0(cap.value) === null) bad = bad || [cap, t('channels.err_whole')];
      else body.cap = number0(cap.value);
      if (secret.value.trim()) {
        try {
          const parsed = JSON.parse(secret.value);
          if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
          body.credentials = parsed;
        } catch {
          bad = bad || [secret, t('channels.err_credentials')];
        }
      }
      if (bad) {
        fieldError(bad[0], bad[1]);
        bad[0].focus();
        return;
      }
      save.disabled = true;
      save.textContent = t('channels.saving');
      try {
        const { data } = await api(`/api/channels/accounts/${a.id}`, { method: 'PATCH', body });
        secret.value = '';
        editing = null;
        accounts = accounts.map((x) => (x.id === data.id ? data : x));
        render();
        toast(t('channels.saved', { name: data.name || data.account_key }));
      } catch (error) {
        save.disabled = false;
        save.textContent = t('channels.save');
        showErrors(error, inputs, formError);
      }
    });
    return form;
  }

  function card(a) {
    const li = el('li', 'account-card');
    li.dataset.id = a.id;
    li.dataset.channel = a.channel;
    const head = el('div', 'account-head');
    const title = el('h2', 'account-name', a.name || a.account_key);
    const badges = el('p', 'order-badges');
    badges.append(channelBadge(a.channel));
    const seller = boot.sellers && boot.sellers[a.seller_id];
    if (seller) badges.append(el('span', 'order-seller', seller));
    const state = el('span', `tag account-state ${a.active ? 'state-on' : 'state-off'}`,
      a.active ? t('channels.active') : t('channels.paused'));
    badges.append(state);
    head.append(title, badges);
    li.append(head);

    const facts = el('dl', 'facts account-facts');
    facts.append(fact(t('channels.account_key'), a.account_key, 'account-key'));
    const when = el('time', 'account-polled', relativeTime(a.last_poll_at));
    if (a.last_poll_at) {
      when.dateTime = a.last_poll_at;
      when.title = dateTime(a.last_poll_at);
    }
    facts.append(fact(t('channels.last_poll'), when));
    const dead = el('a', `count-link${a.dead_letters ? ' count-alert' : ''}`, number(a.dead_letters || 0));
    dead.href = `/channels/dead-letters?account_id=${a.id}`;
    dead.dataset.count = 'dead';
    facts.append(fact(t('channels.dead_letters'), dead));
    const heldN = heldFor(a);
    const heldLink = el('a', `count-link${heldN ? ' count-alert' : ''}`, number(heldN));
    heldLink.href = '/channels/exceptions';
    heldLink.dataset.count = 'held';
    facts.append(fact(t('channels.held_orders'), heldLink));
    facts.append(fact(t('channels.buffer_cap'), `${number(a.buffer || 0)} / ${
      a.cap === null || a.cap === undefined ? t('channels.no_cap') : number(a.cap)}`));
    facts.append(fact(t('channels.credentials'),
      a.has_credentials ? t('channels.credentials_set') : t('channels.credentials_none')));
    li.append(facts);
    if (a.last_error) {
      // A platform's error can be long (a URL, a traceback line): four lines, then
      // "show all" on request.
      const error = el('div', 'account-error');
      const text = el('p', 'error-text');
      text.append(el('strong', '', t('channels.last_error')), ' ', a.last_error);
      error.append(text);
      if (a.last_error.length > 140) {
        text.classList.add('clamped');
        const all = el('button', 'btn btn-small btn-quiet-dark', t('channels.show_all'));
        all.type = 'button';
        all.setAttribute('aria-expanded', 'false');
        all.addEventListener('click', () => {
          const open = text.classList.toggle('clamped');
          all.setAttribute('aria-expanded', String(!open));
          all.textContent = open ? t('channels.show_all') : t('channels.show_less');
        });
        error.append(all);
      }
      li.append(error);
    }
    if (editing === a.id) {
      li.append(editForm(a));
      return li;
    }
    const row = el('div', 'action-row');
    const poll = el('button', 'btn btn-primary', t('channels.poll_now'));
    poll.type = 'button';
    poll.dataset.action = 'poll';
    poll.disabled = !a.active;
    poll.addEventListener('click', () => pollNow(a, poll));
    const edit = el('button', 'btn', t('channels.edit'));
    edit.type = 'button';
    edit.dataset.action = 'edit';
    edit.addEventListener('click', () => {
      editing = a.id;
      render();
      document.getElementById(`acct-${a.id}-name`)?.focus();
    });
    row.append(poll, edit);
    li.append(row);
    return li;
  }

  async function pollNow(a, button) {
    button.disabled = true;
    button.textContent = t('channels.polling');
    try {
      const { data } = await api(`/api/channels/accounts/${a.id}/poll`, { method: 'POST' });
      accounts = accounts.map((x) => (x.id === data.id ? data : x));
      render();
      toast(data.last_error && data.last_poll_at !== a.last_poll_at
        ? t('channels.poll_failed') : t('channels.poll_requested'));
      // A poll may bring orders (held ones too): the counts follow.
      load({ quiet: true });
    } catch (error) {
      button.disabled = false;
      button.textContent = t('channels.poll_now');
      toast(errorText(error));
    }
  }

  function render() {
    view.list.replaceChildren(...accounts.map(card));
    view.empty.hidden = !loaded || accounts.length > 0;
    if (!root.hidden) savedDataNote(fromCache);
  }

  async function load({ quiet = false } = {}) {
    const mine = ++seq;
    if (!quiet) view.loading(accounts.length > 0);
    try {
      const data = await loadAccountsAndHeld();
      if (mine !== seq) return;
      accounts = data.accounts;
      held = data.held || held;
      fromCache = data.fromCache;
      loaded = true;
      view.status.hidden = true;
      if (editing === null) render();
    } catch (error) {
      if (mine !== seq) return;
      view.failed(error, accounts.length > 0);
    }
  }

  return {
    show: () => load(),
    rerender: () => { if (loaded) render(); },
    refresh: () => load({ quiet: true }),
  };
}

// -- held orders: map the channel SKU, release ------------------------------------------

/** The server's hold reason, in the user's language where we know its words. */
function holdReason(o) {
  return o.hold_reason.split('; ').map((part) => {
    if (part.startsWith('No SKU mapping') && (o.unmapped || []).length) {
      return t('held.reason_unmapped', { skus: o.unmapped.join(', ') });
    }
    const zip = /^Ship-to ZIP '([^']*)'/.exec(part);
    if (zip) return t('held.reason_zip', { zip: zip[1] });
    return part;
  }).join(' · ');
}

export function heldScreen(boot, root) {
  const view = listState(root);
  let accounts = [];
  let held = [];
  let loaded = false;
  let fromCache = false;
  let seq = 0;
  // Per order: what the person typed and chose, kept over re-renders; and the
  // outcome of a release, shown until the next visit.
  const drafts = new Map();
  const done = new Map();

  function draftFor(orderId, channelSku) {
    const key = `${orderId}:${channelSku}`;
    if (!drafts.has(key)) drafts.set(key, { query: '', sku: null, per: '1' });
    return drafts.get(key);
  }

  function skuPicker(o, channelSku, index) {
    const draft = draftFor(o.order_id, channelSku);
    const base = `held-${o.order_id}-${index}`;
    const box = el('fieldset', 'map-row');
    box.dataset.channelSku = channelSku;
    const legend = el('legend', 'map-legend');
    legend.append(el('span', 'muted', t('held.channel_sku')), ' ', el('code', 'map-channel-sku', channelSku));
    box.append(legend);

    const search = el('input');
    search.type = 'search';
    search.autocomplete = 'off';
    search.spellcheck = false;
    search.setAttribute('autocapitalize', 'off');
    search.setAttribute('enterkeyhint', 'search');
    search.placeholder = t('held.sku_placeholder');
    search.value = draft.sku ? draft.sku.code : draft.query;
    search.dataset.role = 'sku';
    const results = el('ul', 'sku-results');
    results.setAttribute('role', 'listbox');
    const chosen = el('p', 'sku-chosen');
    chosen.setAttribute('aria-live', 'polite');
    const showChosen = () => {
      chosen.hidden = !draft.sku;
      chosen.textContent = draft.sku ? `✓ ${draft.sku.code} · ${draft.sku.name}` : '';
    };
    showChosen();
    let searchSeq = 0;
    const runSearch = debounce(async () => {
      const q = search.value.trim();
      const mine = ++searchSeq;
      if (!q) {
        results.replaceChildren();
        return;
      }
      const query = new URLSearchParams({ q, limit: '6', active: 'true' });
      if (boot.role === 'admin' && o.seller_id) query.set('seller_id', String(o.seller_id));
      try {
        const { data } = await api(`/api/skus?${query}`);
        if (mine !== searchSeq) return;
        const items = data.items || [];
        if (!items.length) {
          results.replaceChildren(el('li', 'muted sku-none', t('held.no_skus')));
          return;
        }
        results.replaceChildren(...items.map((sku) => {
          const li = el('li');
          const pick = el('button', 'sku-option');
          pick.type = 'button';
          pick.setAttribute('role', 'option');
          pick.dataset.skuId = sku.id;
          pick.append(el('span', 'line-sku', sku.code), el('span', 'line-desc', sku.name));
          pick.addEventListener('click', () => {
            draft.sku = { id: sku.id, code: sku.code, name: sku.name };
            draft.query = sku.code;
            search.value = sku.code;
            results.replaceChildren();
            fieldError(search, '');
            showChosen();
            perInput.focus();
          });
          li.append(pick);
          return li;
        }));
      } catch (error) {
        if (mine !== searchSeq) return;
        results.replaceChildren(el('li', 'muted sku-none', errorText(error)));
      }
    }, 250);
    search.addEventListener('input', () => {
      draft.query = search.value;
      if (draft.sku && search.value.trim() !== draft.sku.code) {
        draft.sku = null;
        showChosen();
      }
      runSearch();
    });

    const perInput = el('input');
    perInput.type = 'number';
    perInput.inputMode = 'numeric';
    perInput.min = '1';
    perInput.step = '1';
    perInput.value = draft.per;
    perInput.dataset.role = 'per';
    const perHint = () => {
      const n = Number(perInput.value);
      return tn('held.per_hint', Number.isInteger(n) && n > 0 ? n : 1);
    };
    perInput.addEventListener('input', () => {
      draft.per = perInput.value;
      const hint = document.getElementById(`${base}-per-hint`);
      if (hint) hint.textContent = perHint();
    });
    const skuField = field(`${base}-sku`, t('held.your_sku'), search);
    skuField.append(results, chosen);
    box.append(skuField, field(`${base}-per`, t('held.per_unit'), perInput, perHint()));
    return { box, draft, search, perInput, channelSku };
  }

  function resultBox(o, order) {
    const box = el('div', 'release-result');
    box.setAttribute('role', 'status');
    box.dataset.status = order.status;
    const line = el('p', 'release-line');
    line.append(el('span', '', t('held.released')), ' ', statusBadge(order.status));
    const link = el('a', 'btn btn-block', t('held.open_order'));
    link.href = `/orders/${order.id}`;
    box.append(line);
    if (order.status === 'backordered') box.append(el('p', 'muted', t('held.backordered_hint')));
    box.append(link);
    return box;
  }

  function card(o) {
    const li = el('li', 'held-card');
    li.dataset.id = o.order_id;
    const head = el('div', 'order-row');
    const link = el('a', 'order-ext', o.external_id);
    link.href = `/orders/${o.order_id}`;
    head.append(link, statusBadge(done.has(o.order_id) ? done.get(o.order_id).status : 'held'));
    const meta = el('div', 'order-row order-meta');
    const left = el('span', 'order-left');
    left.append(channelBadge(o.channel));
    const seller = boot.sellers && boot.sellers[o.seller_id];
    if (seller) left.append(el('span', 'order-seller', seller));
    left.append(el('span', 'order-where', o.account_key));
    const when = el('time', 'order-when', day(o.placed_at));
    when.dateTime = o.placed_at || '';
    meta.append(left, when);
    li.append(head, meta);
    if (done.has(o.order_id)) {
      li.append(resultBox(o, done.get(o.order_id)));
      return li;
    }
    if (o.hold_reason) li.append(el('p', 'hold-reason', holdReason(o)));

    const form = el('form', 'fix-form');
    form.noValidate = true;
    const pickers = (o.unmapped || []).map((sku, i) => skuPicker(o, sku, i));
    for (const p of pickers) form.append(p.box);
    const formError = formErrorBox();
    const go = el('button', 'btn btn-primary btn-block',
      pickers.length ? t('held.map_release') : t('held.release'));
    go.type = 'submit';
    form.append(formError, go);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      say(formError, '');
      const account = accounts.find((a) => sameAccount(a, o.channel, o.account_key));
      // Check everything on the phone first: one answer for all the fields.
      let first = null;
      for (const p of pickers) {
        fieldError(p.search, '');
        fieldError(p.perInput, '');
        if (!p.draft.sku) {
          const typed = p.search.value.trim();
          fieldError(p.search, typed ? t('held.err_pick') : t('held.err_sku'));
          first = first || p.search;
        }
        const n = Number(p.perInput.value);
        if (!Number.isInteger(n) || n < 1) {
          fieldError(p.perInput, t('held.err_per'));
          first = first || p.perInput;
        }
      }
      if (first) {
        first.focus();
        return;
      }
      if (pickers.length && !account) {
        say(formError, t('held.err_account'));
        return;
      }
      go.disabled = true;
      go.textContent = t('held.busy');
      try {
        for (const p of pickers) {
          try {
            await api(`/api/channels/accounts/${account.id}/mappings`, {
              method: 'PUT',
              body: { channel_sku: p.channelSku,
                components: [{ sku_id: p.draft.sku.id, quantity: Number(p.perInput.value) }] },
            });
          } catch (error) {
            showErrors(error, { 'components.0.sku_id': p.search, 'components.0.quantity': p.perInput },
              formError);
            throw SHOWN;
          }
        }
        const { data } = await api(`/api/channels/orders/${o.order_id}/release`, {
          method: 'POST', body: {},
        });
        done.set(o.order_id, data);
        render();
        toast(t('held.released_toast', { id: o.external_id, status: statusName(data.status) }));
        document.querySelector(`.held-card[data-id="${o.order_id}"] .release-result`)?.focus?.();
        setCounts({ held: held.filter((h) => !done.has(h.order_id)).length });
      } catch (error) {
        go.disabled = false;
        go.textContent = pickers.length ? t('held.map_release') : t('held.release');
        if (error === SHOWN) return; // shown next to the mapping's fields
        if (error instanceof ApiError && error.status === 409) {
          // Still held (another SKU, the address): the server says what.
          say(formError, error.message);
          load({ quiet: true });
          return;
        }
        showErrors(error, {}, formError);
      }
    });
    li.append(form);
    return li;
  }

  function render() {
    view.list.replaceChildren(...held.map(card));
    view.empty.hidden = !loaded || held.length > 0;
    if (!root.hidden) savedDataNote(fromCache);
  }

  function busy() {
    const active = document.activeElement;
    return Boolean(active && root.contains(active) && active.matches('input, textarea'));
  }

  async function load({ quiet = false } = {}) {
    const mine = ++seq;
    if (!quiet) view.loading(held.length > 0);
    try {
      const data = await loadAccountsAndHeld();
      if (mine !== seq) return;
      if (data.held === null) throw new ApiError(500, null);
      accounts = data.accounts;
      // Released ones stay on screen with their outcome until the next visit.
      const fresh = data.held;
      const kept = held.filter((h) => done.has(h.order_id) && !fresh.some((f) => f.order_id === h.order_id));
      held = [...kept, ...fresh];
      fromCache = data.fromCache;
      loaded = true;
      view.status.hidden = true;
      if (!(quiet && busy())) render();
    } catch (error) {
      if (mine !== seq) return;
      view.failed(error, held.length > 0);
    }
  }

  const later = debounce(() => load({ quiet: true }), 800);
  return {
    show(params, query, info) {
      if (!info.first) {
        held = held.filter((h) => !done.has(h.order_id));
        done.clear();
      }
      load();
    },
    rerender: () => { if (loaded) render(); },
    refresh: () => load({ quiet: true }),
    onOrderUpdated: () => { if (!root.hidden) later(); },
  };
}

// -- dead letters ------------------------------------------------------------------------

function prettyPayload(text) {
  const LIMIT = 20000;
  let out = text || '';
  try {
    out = JSON.stringify(JSON.parse(out), null, 2);
  } catch {
    // not JSON (that may be why it is here): as it came
  }
  return out.length > LIMIT ? `${out.slice(0, LIMIT)}\n… (${number(out.length - LIMIT)})` : out;
}

export function deadLettersScreen(boot, root) {
  const view = listState(root);
  const more = view.part('more');
  let accounts = [];
  let items = [];
  let cursor = null;
  let accountId = null;
  let loaded = false;
  let fromCache = false;
  let seq = 0;
  const outcomes = new Map(); // letter id -> {ok, text, result}

  function accountOf(letter) {
    return accounts.find((a) => a.id === letter.account_id);
  }

  function card(d) {
    const li = el('li', 'dead-card');
    li.dataset.id = d.id;
    const head = el('div', 'order-row');
    const left = el('span', 'order-left');
    const account = accountOf(d);
    if (account) left.append(channelBadge(account.channel), el('span', 'order-where', account.name || account.account_key));
    else left.append(el('span', 'order-where', `#${d.account_id}`));
    const when = el('time', 'order-when', dateTime(d.created_at));
    when.dateTime = d.created_at || '';
    head.append(left, when);
    li.append(head);
    const reason = el('p', 'dead-reason');
    reason.append(el('strong', '', t('dead.reason')), ' ', d.reason || '');
    li.append(reason);
    li.append(el('p', 'muted small', [t('dead.source', { source: d.source || '?' }),
      tn('dead.attempts', d.attempts || 0)].join(' · ')));
    const raw = el('details', 'dead-raw');
    const summary = el('summary', '', t('dead.payload'));
    const pre = el('pre', 'payload');
    raw.addEventListener('toggle', () => {
      if (raw.open && !pre.textContent) pre.textContent = prettyPayload(d.payload);
    }, { once: false });
    raw.append(summary, pre);
    li.append(raw);

    const outcome = outcomes.get(d.id);
    if (d.replayed_at || (outcome && outcome.ok)) {
      const box = el('div', 'release-result');
      box.setAttribute('role', 'status');
      const result = (outcome && outcome.result) || d.result || {};
      box.append(el('p', 'release-line', t('dead.replayed', {
        action: result.action || '', detail: result.detail || '',
      })));
      if (result.order_id) {
        const link = el('a', 'btn btn-block', t('held.open_order'));
        link.href = `/orders/${result.order_id}`;
        box.append(link);
      }
      li.append(box);
      return li;
    }
    const formError = formErrorBox();
    if (outcome && !outcome.ok) say(formError, outcome.text);
    const replay = el('button', 'btn btn-primary btn-block', t('dead.replay'));
    replay.type = 'button';
    replay.dataset.action = 'replay';
    replay.addEventListener('click', async () => {
      replay.disabled = true;
      replay.textContent = t('dead.replaying');
      try {
        const { data } = await api(`/api/channels/dead-letters/${d.id}/replay`, { method: 'POST' });
        outcomes.set(d.id, { ok: true, result: data });
        render();
        toast(t('dead.replayed_toast'));
        refreshCounts();
      } catch (error) {
        if (error instanceof ApiError && error.status === 409) {
          // Still unreadable: the new reason is in the answer; the attempt counted.
          const newReason = (error.fields.payload || [])[0];
          if (newReason) d.reason = newReason;
          d.attempts = (d.attempts || 0) + 1;
          outcomes.set(d.id, { ok: false, text: t('dead.still_failing') });
          render();
          return;
        }
        replay.disabled = false;
        replay.textContent = t('dead.replay');
        say(formError, errorText(error));
      }
    });
    li.append(formError, replay);
    return li;
  }

  async function refreshCounts() {
    try {
      await loadAccountsAndHeld();
    } catch {
      // the counts are a hint
    }
  }

  function render() {
    view.list.replaceChildren(...items.map(card));
    view.empty.hidden = !loaded || items.length > 0;
    more.hidden = !cursor;
    if (!root.hidden) savedDataNote(fromCache);
  }

  async function load({ append = false, quiet = false } = {}) {
    const mine = append ? seq : ++seq;
    const query = new URLSearchParams({ open: 'true', limit: '20' });
    if (accountId) query.set('account_id', String(accountId));
    if (append && cursor) query.set('after', cursor);
    if (!quiet && !append) view.loading(items.length > 0);
    more.disabled = true;
    try {
      const [letters, both] = await Promise.all([
        api(`/api/channels/dead-letters?${query}`),
        append ? Promise.resolve(null) : loadAccountsAndHeld().catch(() => null),
      ]);
      if (mine !== seq) return;
      if (both) accounts = both.accounts;
      const page = letters.data;
      // Replayed this visit: kept on screen with the outcome.
      const kept = append ? items : items.filter((d) => outcomes.get(d.id)?.ok
        && !page.items.some((x) => x.id === d.id));
      items = append ? items.concat(page.items) : [...kept, ...page.items];
      cursor = page.next_cursor;
      fromCache = letters.fromCache;
      loaded = true;
      view.status.hidden = true;
      render();
    } catch (error) {
      if (mine !== seq) return;
      view.failed(error, items.length > 0);
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', () => load({ append: true }));

  return {
    show(params, query) {
      const next = Number(query.get('account_id')) || null;
      if (next !== accountId) {
        items = [];
        outcomes.clear();
      }
      accountId = next;
      load();
    },
    rerender: () => { if (loaded) render(); },
    refresh: () => load({ quiet: true }),
  };
}
