// The log-in page. The form also works without JavaScript (it posts to /login);
// with it, it posts JSON to /api/auth/login so each error lands next to its field
// without a page load, and a rate limit or a dead network gets its own message.
import { api, ApiError, NetworkError, setCsrfToken } from './api.js';
import { applyTranslations, pickLocale, setLocale, t } from './i18n.js';
import { bindLanguageSwitch } from './langswitch.js';
import { watchNetwork } from './net.js';
import { registerServiceWorker } from './pwa.js';

const form = document.getElementById('login-form');
const formError = document.getElementById('form-error');
const submit = form.querySelector('button[type="submit"]');

// The cookie set by an earlier choice on this device wins, then the browser's.
const saved = (document.cookie.match(/(?:^|; )hc_locale=([^;]+)/) || [])[1];
setLocale(pickLocale(saved));
applyTranslations();
watchNetwork();
bindLanguageSwitch();
registerServiceWorker();

function showFieldError(name, message) {
  const input = form.elements[name];
  const slot = document.getElementById(`${name}-error`);
  if (!input || !slot) return false;
  slot.textContent = message;
  slot.hidden = false;
  input.setAttribute('aria-invalid', 'true');
  return true;
}

function clearErrors() {
  formError.hidden = true;
  formError.textContent = '';
  for (const slot of form.querySelectorAll('.field-error')) {
    slot.hidden = true;
    slot.textContent = '';
  }
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
}

function showFormError(message) {
  formError.textContent = message;
  formError.hidden = false;
}

/** Checks the browser can make before asking the server; returns the first bad field. */
function validate(email, password) {
  let first = null;
  if (!email) {
    showFieldError('email', t('err.required'));
    first = first || 'email';
  } else if (!/^[^\s@]+@[^\s@]+$/.test(email)) {
    showFieldError('email', t('err.email'));
    first = first || 'email';
  }
  if (!password) {
    showFieldError('password', t('err.required'));
    first = first || 'password';
  }
  return first;
}

function nextUrl() {
  // Only a path on this site: never an open redirect to another host.
  const next = new URLSearchParams(location.search).get('next');
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearErrors();
  const email = form.elements.email.value.trim();
  const password = form.elements.password.value;
  const bad = validate(email, password);
  if (bad) {
    form.elements[bad].focus();
    return;
  }
  submit.disabled = true;
  submit.textContent = t('login.busy');
  try {
    const { data } = await api('/api/auth/login', {
      method: 'POST', body: { email, password, remember: form.elements.remember.checked },
    });
    setCsrfToken(data.csrf_token);
    location.replace(nextUrl());
    return;
  } catch (error) {
    if (error instanceof NetworkError) {
      showFormError(t('err.network'));
    } else if (error instanceof ApiError && error.status === 401) {
      // The server names the field (password); the message is ours, in the page's language.
      const field = Object.keys(error.fields)[0] || 'password';
      showFieldError(field, t('err.bad_credentials'));
      form.elements.password.value = '';
      form.elements.password.focus();
    } else if (error instanceof ApiError && error.status === 429) {
      showFormError(t('err.rate_limited'));
    } else if (error instanceof ApiError && error.status === 422) {
      let first = null;
      for (const [name, messages] of Object.entries(error.fields)) {
        if (showFieldError(name, messages.join(' '))) first = first || name;
      }
      if (first) form.elements[first].focus();
      else showFormError(error.message);
    } else if (error instanceof ApiError && error.code === 'csrf_failed') {
      showFormError(t('err.csrf'));
    } else {
      showFormError(t('err.server', { status: error.status || '?' }));
    }
  }
  submit.disabled = false;
  submit.textContent = t('login.submit');
});
