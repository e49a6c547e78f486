// Customer service (/service, sellers and admins): one search box across channels
// (order number, channel order id, tracking number, e-mail, phone, name), ranked
// results; an order's whole timeline (its events, the carriers' tracking, the
// notifications sent) and a templated reply to the customer, previewed in the
// customer's language before it is sent. Send is one tap: disabled while sending,
// so a double tap sends once; an opted-out customer's refusal (409) is shown next to
// the field it names. Data from GET /api/service/*; offline, the saved answers.
import { api, ApiError, NetworkError } from './api.js';
import { t } from './i18n.js';
import {
  channelBadge, dateTime, debounce, el, savedDataNote, statusBadge, toast,
} from './format.js';

const TEMPLATES = ['where_is_my_order', 'delayed', 'delivered', 'return_instructions'];
const CHANNELS = ['email', 'sms'];
const LANGUAGES = { en: 'English', 'zh-CN': '简体中文', 'zh-TW': '繁體中文', es: 'Español' };

function errorText(error) {
  if (error instanceof NetworkError) return t('err.offline_action');
  return (error && error.message) || t('err.server', { status: (error && error.status) || '?' });
}

function say(box, text) {
  box.textContent = text || '';
  box.hidden = !text;
}

function labelled(id, labelKey, input) {
  const box = el('div', 'field');
  const label = el('label', '', t(labelKey));
  label.htmlFor = id;
  label.dataset.i18n = labelKey;
  input.id = id;
  const error = el('p', 'field-error');
  error.id = `${id}-error`;
  error.hidden = true;
  error.setAttribute('role', 'alert');
  input.setAttribute('aria-describedby', error.id);
  box.append(label, input, error);
  return { box, error };
}

function option(value, text) {
  const node = el('option', '', text);
  node.value = value;
  return node;
}

const caseUrl = (id) => `/service?order=${encodeURIComponent(id)}`;

function newRef() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return 'reply-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function serviceScreen(boot, root) {
  const main = root.querySelector('#service');
  const form = main.querySelector('[data-part="search"]');
  const input = main.querySelector('#service-q');
  const status = main.querySelector('[data-part="status"]');
  const results = main.querySelector('[data-part="results"]');
  const caseBox = main.querySelector('[data-part="case"]');
  let lastQuery = '';
  let hits = [];
  let current = null; // the open case: {order, timeline, templates}
  let seq = 0;

  function renderHits() {
    results.replaceChildren();
    for (const hit of hits) {
      const item = el('li');
      // A link: the case has its own address (/service?order=<id>), kept by the
      // back button, a reload and a colleague the link is sent to.
      const button = el('a', 'service-hit');
      button.href = caseUrl(hit.id);
      button.dataset.orderId = String(hit.id);
      const head = el('span', 'hit-head');
      head.append(el('strong', 'hit-number', hit.order_number), channelBadge(hit.channel),
        statusBadge(hit.status));
      const who = el('span', 'hit-who', [hit.customer, hit.email].filter(Boolean).join(' · '));
      const why = el('span', 'hit-why muted', t(`service.matched_${hit.matched}`));
      button.append(head, who, why);
      if (hit.tracking_numbers && hit.tracking_numbers.length) {
        button.append(el('span', 'hit-tracking muted', hit.tracking_numbers.join(', ')));
      }
      if (hit.placed_at) button.append(el('span', 'muted', dateTime(hit.placed_at)));
      item.append(button);
      results.append(item);
    }
  }

  async function search(q) {
    q = (q || '').trim();
    lastQuery = q;
    const mine = ++seq;
    if (q.length < 2) {
      hits = [];
      renderHits();
      say(status, q ? t('service.too_short') : t('service.hint'));
      return;
    }
    say(status, t('common.loading'));
    try {
      const { data, fromCache } = await api(`/api/service/search?q=${encodeURIComponent(q)}`);
      if (mine !== seq) return;
      savedDataNote(fromCache);
      hits = data.items || [];
      renderHits();
      say(status, hits.length ? t('service.results', { n: hits.length }) : t('service.none'));
    } catch (error) {
      if (mine !== seq) return;
      hits = [];
      renderHits();
      say(status, errorText(error));
    }
  }
  const searchSoon = debounce(search, 350);
  input.addEventListener('input', () => searchSoon(input.value));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    searchSoon.cancel();
    search(input.value);
  });

  function timelineList(items) {
    const list = el('ol', 'service-timeline');
    list.setAttribute('aria-label', t('service.timeline'));
    for (const entry of items) {
      const row = el('li', `tl-item tl-${entry.source}`);
      row.dataset.source = entry.source;
      row.dataset.kind = entry.kind || '';
      const head = el('span', 'tl-head');
      head.append(el('span', 'tl-source', t(`service.source_${entry.source}`)),
        el('time', 'muted', entry.at ? dateTime(entry.at) : ''));
      row.append(head, el('span', 'tl-text', entry.text));
      if (entry.status_text) row.append(el('span', `tl-status tl-status-${entry.status}`, entry.status_text));
      list.append(row);
    }
    if (!items.length) list.append(el('li', 'muted', t('service.timeline_empty')));
    return list;
  }

  function replyPanel(data) {
    const panel = el('section', 'reply-panel');
    panel.setAttribute('aria-labelledby', 'reply-title');
    const title = el('h2', '', t('service.reply'));
    title.id = 'reply-title';
    const template = el('select');
    const names = Object.fromEntries((data.templates || []).map((x) => [x.id, x.name]));
    for (const id of TEMPLATES) template.append(option(id, names[id] || t(`service.tpl_${id}`)));
    const channel = el('select');
    for (const id of CHANNELS) channel.append(option(id, t(`service.channel_${id}`)));
    if (!data.order.email && data.order.phone) channel.value = 'sms';
    const note = el('textarea', 'note-input');
    note.rows = 3;
    note.maxLength = 2000;
    const fTemplate = labelled('reply-template', 'service.template', template);
    const fChannel = labelled('reply-channel', 'service.channel', channel);
    const fNote = labelled('reply-note', 'service.note', note);
    const previewBox = el('div', 'reply-preview');
    previewBox.setAttribute('aria-live', 'polite');
    const formError = el('p', 'form-error');
    formError.hidden = true;
    formError.setAttribute('role', 'alert');
    const previewButton = el('button', 'btn btn-block', t('service.preview'));
    previewButton.type = 'button';
    previewButton.dataset.part = 'preview';
    const send = el('button', 'btn btn-primary btn-block', t('service.send'));
    send.type = 'button';
    send.dataset.part = 'send';
    let sending = false;
    let previewSeq = 0;

    const body = () => ({ template: template.value, channel: channel.value, note: note.value });
    let replyRef = null;
    const forget = () => { replyRef = null; }; // another reply is composed: a new ref
    template.addEventListener('change', forget);
    channel.addEventListener('change', forget);
    note.addEventListener('input', forget);
    function clearErrors() {
      for (const f of [fTemplate, fChannel, fNote]) say(f.error, '');
      channel.removeAttribute('aria-invalid');
      say(formError, '');
    }
    function showError(error) {
      clearErrors();
      const fields = error instanceof ApiError ? error.fields || {} : {};
      const byName = { template: fTemplate, channel: fChannel, note: fNote };
      let placed = false;
      for (const [name, messages] of Object.entries(fields)) {
        const target = byName[name];
        if (!target) continue;
        // The refusal in words, naming the field: "Channel: The customer opted out …".
        say(target.error, `${t(`service.${name}`)}: ${error.message || (messages || []).join(' ')}`);
        target.box.querySelector('select, textarea')?.setAttribute('aria-invalid', 'true');
        placed = true;
      }
      if (!placed) say(formError, errorText(error));
    }

    async function preview() {
      const mine = ++previewSeq;
      previewBox.replaceChildren(el('p', 'muted', t('common.loading')));
      try {
        const { data: shown } = await api(`/api/service/orders/${data.order.id}/replies/preview`,
          { method: 'POST', body: body() });
        if (mine !== previewSeq) return;
        clearErrors();
        previewBox.replaceChildren();
        const meta = el('p', 'muted preview-meta', t('service.preview_to', {
          recipient: shown.recipient, language: LANGUAGES[shown.locale] || shown.locale,
        }));
        const text = el('div', 'preview-body');
        text.lang = shown.locale;
        if (shown.subject) text.append(el('p', 'preview-subject', shown.subject));
        text.append(el('p', 'preview-text', shown.body));
        previewBox.append(meta, text);
        if (shown.opted_out) previewBox.append(el('p', 'form-error', t('service.opted_out')));
      } catch (error) {
        if (mine !== previewSeq) return;
        previewBox.replaceChildren();
        showError(error);
      }
    }
    const previewSoon = debounce(preview, 400);
    template.addEventListener('change', preview);
    channel.addEventListener('change', preview);
    note.addEventListener('input', previewSoon);
    previewButton.addEventListener('click', () => { previewSoon.cancel(); preview(); });

    send.addEventListener('click', async () => {
      if (sending) return; // a double tap sends once
      sending = true;
      send.disabled = true;
      send.textContent = t('service.sending');
      try {
        // One ref per reply composed: a retry after a lost answer sends nothing twice.
        replyRef = replyRef || newRef();
        const { data: sent } = await api(`/api/service/orders/${data.order.id}/replies`,
          { method: 'POST', body: { ...body(), client_ref: replyRef } });
        replyRef = null;
        clearErrors();
        toast(t('service.sent', { recipient: sent.recipient }));
        note.value = '';
        await openCase(data.order.id, { keepScroll: true });
      } catch (error) {
        showError(error);
      } finally {
        sending = false;
        send.disabled = false;
        send.textContent = t('service.send');
      }
    });
    panel.append(title, fTemplate.box, fChannel.box, fNote.box, previewButton, previewBox,
      formError, send);
    panel.preview = preview;
    return panel;
  }

  function renderCase() {
    caseBox.replaceChildren();
    if (!current) {
      caseBox.hidden = true;
      return;
    }
    const { order } = current;
    const back = el('a', 'btn', t('service.back'));
    back.href = '/service';
    back.dataset.back = '';
    const head = el('header', 'case-head');
    const title = el('h2', 'case-title', order.order_number);
    title.id = 'case-title';
    const badges = el('p', 'case-badges');
    badges.append(channelBadge(order.channel), statusBadge(order.status));
    const facts = el('dl', 'case-facts');
    for (const [key, value] of [['service.customer', order.customer], ['service.email', order.email],
      ['service.phone', order.phone],
      ['service.language', LANGUAGES[order.customer_locale] || order.customer_locale]]) {
      if (!value) continue;
      facts.append(el('dt', '', t(key)), el('dd', '', value));
    }
    head.append(title, badges, facts);
    const links = el('p', 'case-links');
    const orderLink = el('a', '', t('service.open_order'));
    orderLink.href = `/orders/${order.id}`;
    links.append(orderLink);
    if (order.tracking_token) {
      const tracking = el('a', '', t('service.tracking_page'));
      tracking.href = `/t/${order.tracking_token}`;
      tracking.target = '_blank';
      tracking.rel = 'noopener';
      links.append(tracking);
    }
    const tlTitle = el('h2', '', t('service.timeline'));
    const panel = replyPanel(current);
    caseBox.append(back, head, links, tlTitle, timelineList(current.timeline || []), panel);
    caseBox.hidden = false;
    panel.preview();
  }

  async function openCase(id, { keepScroll = false } = {}) {
    if (!keepScroll) {
      form.hidden = true;
      results.hidden = true;
      say(status, t('common.loading'));
    }
    try {
      const { data, fromCache } = await api(`/api/service/orders/${id}`);
      savedDataNote(fromCache);
      current = data;
      say(status, '');
      renderCase();
      if (!keepScroll) caseBox.scrollIntoView?.({ block: 'start' });
    } catch (error) {
      if (keepScroll) toast(errorText(error));
      else {
        form.hidden = false;
        results.hidden = false;
        say(status, errorText(error));
      }
    }
  }

  function closeCase() {
    current = null;
    renderCase();
    form.hidden = false;
    results.hidden = false;
    say(status, hits.length ? t('service.results', { n: hits.length }) : t('service.hint'));
    input.focus();
  }

  return {
    show(params, query) {
      const id = Number((query && query.get('order')) || 0);
      if (id) {
        if (!current || current.order.id !== id) openCase(id);
      } else if (current) {
        closeCase();
      } else if (!lastQuery) {
        say(status, t('service.hint'));
      }
    },
    refresh() {
      if (current) openCase(current.order.id, { keepScroll: true });
      else if (lastQuery) search(lastQuery);
    },
    rerender() {
      if (current) renderCase();
      else renderHits();
    },
  };
}
