// Build the PWA into static/dist/ (git-ignored): `npm run build`.
//
// 1. esbuild bundles the page scripts and the CSS, minified with source maps, under
//    content-hashed names; static/dist/assets.json maps each logical name to its
//    file for the templates (server/web asset_url).
// 2. The service worker is bundled to static/dist/sw.js (a fixed name: its URL is
//    its identity) with the list of shell files to precache and a version hash of
//    everything in it, so every new build installs a fresh cache and drops the old.
// 3. Swagger UI is copied from the swagger-ui-dist package into
//    static/dist/swagger-ui/ for the /api/docs page: nothing is loaded from a CDN.
// 4. The first-screen JS is checked: within the gzipped budget, and naming no
//    remote host. Either failure fails the build.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const ROOT = path.dirname(fileURLToPath(import.meta.url));
const STATIC = path.join(ROOT, 'static');
const DIST = path.join(STATIC, 'dist');
const BUDGET_GZIP = 100 * 1024; // ARCHITECTURE.md: 100 KB gzipped JS for a first screen
// Phones in the field run Chromium WebViews a few years old (Zebra, Honeywell on
// Android 8-11) and older iPhones: syntax they lack is lowered.
const TARGET = ['chrome80', 'safari15', 'firefox78', 'edge88'];

const rel = (file) => path.relative(ROOT, file);
const url = (file) => '/' + path.relative(ROOT, file).split(path.sep).join('/');

await fs.rm(DIST, { recursive: true, force: true });
await fs.mkdir(DIST, { recursive: true });

// -- 1. page bundles -------------------------------------------------------------------

// socket.io-client puts a documentation link in one error message (a server of the
// wrong major version). It is never fetched, but the rule is simple to check only
// if the shipped JS names no remote host at all, so the link becomes plain words.
const noDocLinks = {
  name: 'no-doc-links',
  setup(build) {
    build.onLoad({ filter: /socket\.io-client[\\/]build[\\/]esm[\\/]socket\.js$/ }, async (args) => {
      const source = await fs.readFile(args.path, 'utf8');
      return {
        contents: source.replace(/\(more information here: https:\/\/socket\.io\/[^)]*\)/g,
          '(see the Socket.IO v2 to v3 migration guide)'),
        loader: 'js',
      };
    });
  },
};

// zxing-wasm names a CDN as the default home of its .wasm; camera.js always sets its
// own (locateFile), and the default becomes our copy too, so no host is named.
const noCdn = {
  name: 'no-cdn',
  setup(build) {
    build.onLoad({ filter: /(zxing-wasm[\\/]dist[\\/]es[\\/]share|barcode-detector[\\/]dist[\\/]es[\\/]zxing-exported)\.js$/ }, async (args) => {
      const source = await fs.readFile(args.path, 'utf8');
      return {
        contents: source.replace(/https:\/\/fastly\.jsdelivr\.net\/npm\/zxing-wasm@[^/]+\/dist\/\$\{[^}]+\}\//g,
          '/static/dist/'),
        loader: 'js',
      };
    });
  },
};

const pages = await esbuild.build({
  absWorkingDir: ROOT,
  entryPoints: [
    { in: 'static/src/login.js', out: 'login' },
    { in: 'static/src/app.js', out: 'app' },
    { in: 'static/src/api-docs.js', out: 'api-docs' },
    // Loaded on demand by the floor's camera button (static/src/floor.js).
    { in: 'static/src/camera.js', out: 'camera' },
    { in: 'static/src/app.css', out: 'app' },
    { in: 'static/src/noscript.css', out: 'noscript' },
    { in: 'static/src/api-docs.css', out: 'api-docs' },
    // The public tracking page's one style sheet (server/tracking_page).
    { in: 'static/src/tracking.css', out: 'tracking' },
  ],
  outdir: DIST,
  entryNames: '[name]-[hash]',
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  format: 'iife',
  target: TARGET,
  charset: 'utf8', // Chinese strings as UTF-8, not \u escapes: smaller
  // Licence comments of the packages go to *.LEGAL.txt beside each bundle, so the
  // bundle itself carries no URLs from them.
  legalComments: 'external',
  metafile: true,
  plugins: [noDocLinks, noCdn],
  logLevel: 'warning',
});

const assets = {}; // logical name -> path under static/
for (const [out, meta] of Object.entries(pages.metafile.outputs)) {
  if (!meta.entryPoint) continue;
  const ext = path.extname(out);
  const name = path.basename(meta.entryPoint).replace(/\.(js|css)$/, '') + ext;
  assets[name] = path.relative(STATIC, path.join(ROOT, out))
    .split(path.sep).join('/');
}
await fs.writeFile(path.join(DIST, 'assets.json'), JSON.stringify(assets, null, 2) + '\n');

// -- 3. Swagger UI, copied as shipped ------------------------------------------------------

const SWAGGER_SRC = path.join(ROOT, 'node_modules', 'swagger-ui-dist');
const SWAGGER_DIST = path.join(DIST, 'swagger-ui');
await fs.mkdir(SWAGGER_DIST, { recursive: true });
for (const file of ['swagger-ui-bundle.js', 'swagger-ui.css', 'swagger-ui-bundle.js.LICENSE.txt',
  'LICENSE', 'NOTICE']) {
  await fs.copyFile(path.join(SWAGGER_SRC, file), path.join(SWAGGER_DIST, file));
}

// The ZXing reader's WebAssembly for camera.js, under a fixed name it asks for.
await fs.copyFile(path.join(ROOT, 'node_modules', 'zxing-wasm', 'dist', 'reader', 'zxing_reader.wasm'),
  path.join(DIST, 'zxing_reader.wasm'));

// -- 2. the service worker and its precache list -------------------------------------------

// The shell: what the first screens need to render with no network. Pages (/ and
// /login) are added by the worker itself, one by one (see static/src/sw.js).
const shellFiles = [
  path.join(STATIC, assets['app.js']),
  path.join(STATIC, assets['login.js']),
  path.join(STATIC, assets['app.css']),
  path.join(STATIC, 'manifest.webmanifest'),
  ...['icon.svg', 'icon-192.png', 'icon-512.png', 'maskable-192.png', 'maskable-512.png',
    'apple-touch-icon.png'].map((f) => path.join(STATIC, 'icons', f)),
];
const precache = shellFiles.map((file) => (file.endsWith('manifest.webmanifest')
  ? '/manifest.webmanifest' : url(file)));

// The version covers the shell files, the worker's own source and the templates,
// so any change to what the offline shell shows makes a new cache.
const hash = createHash('sha256');
const versioned = [...shellFiles, path.join(STATIC, 'src', 'sw.js')];
// Every template, however deep (templates/home/, templates/orders/ ...).
const templates = (await fs.readdir(path.join(ROOT, 'templates'), { recursive: true }))
  .filter((f) => f.endsWith('.html')).sort();
for (const f of templates) versioned.push(path.join(ROOT, 'templates', f));
for (const file of versioned) {
  hash.update(rel(file));
  hash.update(await fs.readFile(file));
}
const version = hash.digest('hex').slice(0, 12);

await esbuild.build({
  absWorkingDir: ROOT,
  entryPoints: ['static/src/sw.js'],
  outfile: path.join(DIST, 'sw.js'),
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  format: 'iife',
  target: TARGET,
  legalComments: 'external',
  define: {
    __VERSION__: JSON.stringify(version),
    __PRECACHE__: JSON.stringify(precache),
  },
  logLevel: 'warning',
});

// -- 4. checks: the budget, and no remote host -----------------------------------------------

// Every screen after log-in (/, /orders, /orders/<id>, /stock) is the one app bundle.
const firstScreens = { '/login': ['login.js'], '/ and /orders': ['app.js'] };
const gz = async (name) => {
  const body = await fs.readFile(path.join(STATIC, assets[name]));
  return { raw: body.length, gzip: gzipSync(body, { level: 9 }).length, text: body.toString() };
};
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

let failed = false;
// A URL with a host: "https://cdn...", "//unpkg.com/...". Our code calls only
// relative paths; a host here would be a request the offline shell cannot make.
const REMOTE = /(?:https?:|wss?:)?\/\/(?:[a-z0-9-]+\.)+[a-z]{2,}(?![a-z0-9-])/gi;
for (const name of ['login.js', 'app.js', 'camera.js']) {
  const { text } = await gz(name);
  const hosts = [...new Set(text.match(REMOTE) || [])];
  if (hosts.length) {
    console.error(`✗ ${assets[name]} names remote hosts: ${hosts.join(', ')}`);
    failed = true;
  }
}
const swText = await fs.readFile(path.join(DIST, 'sw.js'), 'utf8');
if ((swText.match(REMOTE) || []).length) {
  console.error('✗ sw.js names a remote host');
  failed = true;
}

console.log(`\nHaicang PWA build ${version} → ${rel(DIST)}/`);
for (const [name, file] of Object.entries(assets)) {
  const { raw, gzip } = await gz(name);
  console.log(`  ${file.padEnd(34)} ${kb(raw).padStart(10)}  ${kb(gzip).padStart(9)} gzip`);
}
const sw = await fs.readFile(path.join(DIST, 'sw.js'));
console.log(`  ${'dist/sw.js'.padEnd(32)} ${kb(sw.length).padStart(10)}  ${kb(gzipSync(sw, { level: 9 }).length).padStart(9)} gzip`);
console.log(`  precache: ${precache.length} files + /, /orders and /login`);
for (const [screen, names] of Object.entries(firstScreens)) {
  let total = 0;
  for (const name of names) total += (await gz(name)).gzip;
  const ok = total <= BUDGET_GZIP;
  failed = failed || !ok;
  console.log(`${ok ? '✓' : '✗'} first-screen JS for ${screen}: ${kb(total)} gzipped `
    + `(budget ${kb(BUDGET_GZIP)})`);
}
if (failed) {
  console.error('build failed its checks');
  process.exit(1);
}
