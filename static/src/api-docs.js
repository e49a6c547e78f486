// The API docs page: Swagger UI from our own static/dist/swagger-ui/ (copied from
// the swagger-ui-dist npm package by build.mjs), never from a CDN.
/* global SwaggerUIBundle */
const root = document.getElementById('swagger-ui');
window.ui = SwaggerUIBundle({
  url: root.dataset.specUrl,
  dom_id: '#swagger-ui',
  deepLinking: true,
  // The default validator badge loads an image from a remote host: switched off.
  validatorUrl: null,
  // Calls from "Try it out" carry the session cookie; add the CSRF header they need.
  requestInterceptor(request) {
    const token = document.querySelector('meta[name="csrf-token"]')?.content;
    if (token && request.method && request.method.toUpperCase() !== 'GET') {
      request.headers['X-CSRFToken'] = token;
    }
    return request;
  },
});
