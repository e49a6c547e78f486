// The en / 中文 / es buttons. Switching is instant and local; `persist` (the app
// shell) then saves the choice to the user's profile so the server renders the
// next first paint in it too.
import { applyTranslations, setLocale } from './i18n.js';
import { renderBadge } from './net.js';

export function bindLanguageSwitch({ persist, rerender } = {}) {
  for (const button of document.querySelectorAll('[data-locale]')) {
    button.addEventListener('click', async () => {
      const locale = setLocale(button.dataset.locale);
      applyTranslations();
      renderBadge();
      if (rerender) rerender();
      if (persist) await persist(locale);
    });
  }
}
