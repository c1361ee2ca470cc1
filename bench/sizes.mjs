// Download sizes of authfetch and its peers, gzip -9 and brotli (quality 11), from node:zlib.
//
// Two views per package:
//   "as published"  the files a browser downloads when it imports the package's browser ESM entry
//                   unbundled (the module graph esbuild walks from that entry), each file compressed
//                   on its own as HTTP would; for authfetch the JS glue plus the .wasm.
//   "min bundle"    the same graph bundled and minified by esbuild into one ESM file (what an app's
//                   bundler would ship), compressed as one file; authfetch's .wasm is added as is.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const gzip = (buf) => zlib.gzipSync(buf, { level: 9 }).length;
const brotli = (buf) =>
  zlib.brotliCompressSync(buf, {
    params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: buf.length },
  }).length;

function measure(bufs) {
  return bufs.reduce(
    (acc, b) => ({ raw: acc.raw + b.length, gzip: acc.gzip + gzip(b), brotli: acc.brotli + brotli(b) }),
    { raw: 0, gzip: 0, brotli: 0 },
  );
}

/** The packages compared, with their browser ESM entries (the files bench/page/index.html maps). */
export function sizeTargets({ pkgDir, benchDir }) {
  const nm = (p) => path.join(benchDir, 'node_modules', p);
  const version = (dir) => JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  return [
    {
      name: 'authfetch',
      version: version(pkgDir),
      entries: [path.join(pkgDir, 'authfetch.js')],
      extras: [path.join(pkgDir, 'authfetch_bg.wasm')],
    },
    { name: 'ofetch', version: version(nm('ofetch')), entries: [nm('ofetch/dist/index.mjs')] },
    { name: 'ky', version: version(nm('ky')), entries: [nm('ky/distribution/index.js')] },
    {
      name: 'axios + axios-auth-refresh',
      version: `${version(nm('axios'))} + ${version(nm('axios-auth-refresh'))}`,
      entries: [nm('axios/dist/esm/axios.min.js'), nm('axios-auth-refresh/dist/index.esm.js')],
      // axios-auth-refresh imports 'axios': resolve it to the same browser ESM file the page uses.
      alias: { axios: nm('axios/dist/esm/axios.min.js') },
    },
    { name: 'oidc-client-ts', version: version(nm('oidc-client-ts')), entries: [nm('oidc-client-ts/dist/esm/oidc-client-ts.js')] },
    {
      name: '@auth0/auth0-spa-js',
      version: version(nm('@auth0/auth0-spa-js')),
      entries: [nm('@auth0/auth0-spa-js/dist/auth0-spa-js.production.esm.js')],
    },
  ];
}

/** Measures every target. `esbuild` is the module from bench/node_modules; `pkgDir` holds authfetch's package. */
export async function measureSizes(esbuild, { pkgDir, benchDir }) {
  const rows = [];
  for (const t of sizeTargets({ pkgDir, benchDir })) {
    const alias = t.alias || {};
    const aliasPlugin = {
      name: 'alias',
      setup(build) {
        for (const [from, to] of Object.entries(alias)) {
          build.onResolve({ filter: new RegExp(`^${from}$`) }, () => ({ path: to }));
        }
      },
    };
    // Namespace re-exports keep every export alive, so nothing is tree-shaken away.
    const contents = t.entries.map((e, i) => `import * as m${i} from ${JSON.stringify(e)}; export { m${i} };`).join('\n');
    const result = await esbuild.build({
      stdin: { contents, resolveDir: benchDir, loader: 'js' },
      absWorkingDir: benchDir,
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      target: 'esnext',
      write: false,
      metafile: true,
      logLevel: 'silent',
      plugins: [aliasPlugin],
    });
    const inputs = Object.keys(result.metafile.inputs).filter((f) => f !== '<stdin>').map((f) => path.resolve(benchDir, f));
    const extras = (t.extras || []).map((f) => readFileSync(f));
    const published = measure([...inputs.map((f) => readFileSync(f)), ...extras]);
    const bundle = measure([Buffer.from(result.outputFiles[0].contents), ...extras]);
    rows.push({ name: t.name, version: t.version, files: inputs.length + extras.length, published, bundle });
  }
  return rows;
}
