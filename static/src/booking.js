// Booking a large-item delivery (/booking, sellers and admins; an admin books for a
// seller it picks): the item (size in cm, weight in kg, pieces), the pickup
// warehouse, the destination and the wanted date; "Compare" lists every way to carry
// it side by side (POST /api/bookings/quote): the own fleet with its free days and
// price, each carrier with price and transit days, the impossible ones greyed with
// their translated reason; possible first, cheapest first (the server's order).
// Book one in a tap (own fleet: on a chosen free day): POST /api/bookings, then the
// booking with its order and public tracking link. My bookings are listed below.
import { api, ApiError, NetworkError } from './api.js';
import { t } from './i18n.js';
import { day, el, money, savedDataNote, toast } from './format.js';

function errorText(error) {
  if (error instanceof NetworkError) return t('err.offline_action');
  return (error && error.message) || t('err.server', { status: (error && error.status) || '?' });
}

function say(box, text) {
  box.textContent = text || '';
  box.hidden = !text;
}

function tomorrow() {
  const d = new Date(Date.now() + 86400000);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function bookingScreen(boot, root) {
  const main = root.querySelector('#booking');
  const form = main.querySelector('form[data-part="form"]');
  const status = main.querySelector('[data-part="status"]');
  const formError = main.querySelector('[data-part="error"]');
  const optionsBox = main.querySelector('[data-part="options"]');
  const doneBox = main.querySelector('[data-part="done"]');
  const listBox = main.querySelector('[data-part="list"]');
  const listStatus = main.querySelector('[data-part="list-status"]');
  const field = (name) => form.elements.namedItem(name);
  let quoted = null; // {input, answer}
  let bookings = [];
  let busy = false;

  // The admin's seller choice and the pickup warehouses, from the page's boot data.
  const sellerSelect = field('seller_id');
  if (sellerSelect) {
    const sellers = Object.entries(boot.sellers || {}).sort((a, b) => a[1].localeCompare(b[1]));
    for (const [id, code] of sellers) {
      const o = el('option', '', code);
      o.value = id;
      sellerSelect.append(o);
    }
  }
  const warehouseSelect = field('warehouse_id');
  if (!warehouseSelect.options.length) {
    for (const w of boot.all_warehouses || boot.warehouses || []) {
      const o = el('option', '', `${w.code} · ${w.name}`);
      o.value = String(w.id);
      warehouseSelect.append(o);
    }
  }
  if (!field('wanted_date').value) field('wanted_date').value = tomorrow();

  const intOf = (name) => {
    const n = Number(field(name).value);
    return Number.isFinite(n) && field(name).value !== '' ? Math.round(n) : null;
  };

  function input() {
    const text = (name) => (field(name).value || '').trim();
    return {
      item: {
        length_cm: intOf('length_cm'), width_cm: intOf('width_cm'), height_cm: intOf('height_cm'),
        weight_kg: intOf('weight_kg'), pieces: intOf('pieces') || 1, description: text('description'),
      },
      pickup: { warehouse_id: Number(warehouseSelect.value) || null },
      destination: {
        name: text('name'), address1: text('address1'), city: text('city'),
        state: text('state').toUpperCase(), zip: text('zip'), phone: text('phone'),
      },
      wanted_date: field('wanted_date').value || null,
    };
  }

  // "item.weight_kg" -> the input named weight_kg; "destination.zip" -> zip.
  function inputFor(path) {
    const name = path.split('.').pop();
    const byName = { warehouse_id: 'warehouse_id', option: null, delivery_date: null };
    const target = name in byName ? byName[name] : name;
    return target ? field(target) : null;
  }

  function clearErrors() {
    for (const node of form.querySelectorAll('[aria-invalid="true"]')) node.removeAttribute('aria-invalid');
    for (const node of form.querySelectorAll('.field-error')) say(node, '');
    say(formError, '');
  }

  function showError(error, box = formError) {
    clearErrors();
    const rest = [];
    if (error instanceof ApiError) {
      for (const [path, messages] of Object.entries(error.fields || {})) {
        const target = inputFor(path);
        const text = (messages || []).join(' ');
        const note = target && form.querySelector(`#${target.id}-error`);
        if (note) {
          target.setAttribute('aria-invalid', 'true');
          say(note, text);
        } else rest.push(text);
      }
      const first = form.querySelector('[aria-invalid="true"]');
      if (first) first.focus();
      if (!first || rest.length) say(box, [error.message, ...rest].filter(Boolean).join(' · '));
    } else say(box, errorText(error));
  }

  function optionCard(option, index) {
    const card = el('li', `option-card ${option.possible ? 'option-possible' : 'option-impossible'}`);
    card.dataset.code = option.code;
    card.dataset.possible = option.possible ? '1' : '0';
    card.dataset.kind = option.kind;
    if (!option.possible) card.setAttribute('aria-disabled', 'true');
    const title = el('h3', 'option-name', option.kind === 'own_fleet' ? t('booking.own_fleet') : option.name);
    const price = el('p', 'option-price', option.price_cents != null && option.possible
      ? money(option.price_cents) : t('booking.no_price'));
    card.append(title, price);
    if (option.possible) {
      const when = option.kind === 'own_fleet'
        ? t('booking.first_day', { day: day(option.delivery_date) })
        : t('booking.transit', { n: option.transit_days, day: day(option.delivery_date) });
      card.append(el('p', 'option-when', when));
    }
    if (option.kind === 'own_fleet' && option.needs_two) card.append(el('p', 'muted', t('booking.two_people')));
    card.append(el('p', 'option-why', option.why || ''));
    if (!option.possible) return card;
    let daySelect = null;
    if (option.kind === 'own_fleet' && (option.windows || []).length) {
      daySelect = el('select');
      daySelect.id = `booking-day-${index}`;
      const label = el('label', '', t('booking.choose_day'));
      label.htmlFor = daySelect.id;
      for (const w of option.windows) {
        const o = el('option', '', `${day(w.date)} · ${w.window_start || ''}–${w.window_end || ''}`);
        o.value = w.date;
        daySelect.append(o);
      }
      const box = el('div', 'field');
      box.append(label, daySelect);
      card.append(box);
    }
    const book = el('button', 'btn btn-primary btn-block', t('booking.book'));
    book.type = 'button';
    book.dataset.part = 'book';
    book.addEventListener('click', () => bookOption(option, daySelect ? daySelect.value : null, book));
    card.append(book);
    return card;
  }

  function renderOptions() {
    optionsBox.replaceChildren();
    if (!quoted) {
      optionsBox.hidden = true;
      return;
    }
    const { answer } = quoted;
    const head = el('h2', '', t('booking.options'));
    optionsBox.append(head);
    if (answer.summary) optionsBox.append(el('p', 'form-error', answer.summary));
    const list = el('ul', 'option-list');
    answer.options.forEach((option, i) => list.append(optionCard(option, i)));
    optionsBox.append(list);
    optionsBox.hidden = false;
  }

  async function compare() {
    if (busy) return;
    busy = true;
    const button = form.querySelector('[data-part="compare"]');
    button.disabled = true;
    clearErrors();
    say(status, t('common.loading'));
    doneBox.hidden = true;
    const body = input();
    try {
      const { data } = await api('/api/bookings/quote', { method: 'POST', body });
      quoted = { input: body, answer: data };
      say(status, '');
      renderOptions();
      optionsBox.scrollIntoView?.({ block: 'start' });
    } catch (error) {
      quoted = null;
      renderOptions();
      say(status, '');
      showError(error);
    } finally {
      busy = false;
      button.disabled = false;
    }
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    compare();
  });
  // A changed input makes the shown options stale: compare again before booking.
  form.addEventListener('input', () => {
    if (quoted) {
      quoted = null;
      renderOptions();
    }
  });

  async function bookOption(option, deliveryDate, button) {
    if (busy || !quoted) return; // one tap books once
    busy = true;
    for (const b of optionsBox.querySelectorAll('[data-part="book"]')) b.disabled = true;
    button.textContent = t('booking.booking');
    const body = { ...quoted.input, option: option.code };
    if (deliveryDate) body.delivery_date = deliveryDate;
    if (sellerSelect) body.seller_id = Number(sellerSelect.value) || null;
    try {
      const { data } = await api('/api/bookings', { method: 'POST', body });
      quoted = null;
      renderOptions();
      showDone(data);
      toast(t('booking.booked'));
      loadList();
    } catch (error) {
      for (const b of optionsBox.querySelectorAll('[data-part="book"]')) b.disabled = false;
      button.textContent = t('booking.book');
      showError(error);
      formError.scrollIntoView?.({ block: 'center' });
    } finally {
      busy = false;
    }
  }

  function facts(b) {
    const dl = el('dl', 'booking-facts');
    const add = (key, value) => {
      if (value) dl.append(el('dt', '', t(key)), el('dd', '', value));
    };
    add('booking.service', b.kind === 'own_fleet' ? t('booking.own_fleet') : b.service_code);
    add('booking.price', b.price_cents != null ? money(b.price_cents) : '');
    add('booking.delivery', b.delivery_date ? day(b.delivery_date) : '');
    add('booking.to', b.destination ? [b.destination.name, b.destination.city, b.destination.zip]
      .filter(Boolean).join(', ') : '');
    add('booking.tracking_number', b.tracking_number);
    const item = b.item || {};
    add('booking.item', item.length_cm ? `${item.length_cm}×${item.width_cm}×${item.height_cm} cm · ${item.weight_kg} kg` : '');
    return dl;
  }

  function links(b) {
    const p = el('p', 'booking-links');
    if (b.order_url) {
      const a = el('a', '', t('booking.open_order'));
      a.href = b.order_url;
      p.append(a);
    }
    if (b.tracking_url) {
      const a = el('a', 'tracking-link', t('booking.tracking_link'));
      a.href = b.tracking_url;
      a.target = '_blank';
      a.rel = 'noopener';
      p.append(a);
    }
    return p;
  }

  function showDone(b) {
    doneBox.replaceChildren(el('h2', '', t('booking.done_title', { id: b.id })), facts(b), links(b));
    doneBox.dataset.bookingId = String(b.id);
    doneBox.hidden = false;
    doneBox.scrollIntoView?.({ block: 'start' });
  }

  function renderList() {
    listBox.replaceChildren();
    for (const b of bookings) {
      const li = el('li', 'booking-card');
      li.dataset.bookingId = String(b.id);
      li.append(el('h3', '', t('booking.number', { id: b.id })), facts(b), links(b));
      listBox.append(li);
    }
  }

  async function loadList() {
    say(listStatus, t('common.loading'));
    try {
      const { data, fromCache } = await api('/api/bookings');
      savedDataNote(fromCache);
      bookings = data.items || [];
      renderList();
      say(listStatus, bookings.length ? '' : t('booking.none'));
    } catch (error) {
      say(listStatus, errorText(error));
    }
  }

  return {
    show(params, query, { first } = {}) {
      if (first) loadList();
    },
    refresh: loadList,
    rerender() {
      renderOptions();
      renderList();
    },
  };
}
