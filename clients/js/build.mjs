// Bundle the widget and the room page into dist/:
//   widget.js                 the launcher (IIFE, the stable URL shops embed; ≤ 6 KB gzipped)
//   widget-panel.<hash>.js    the panel (ES module, imported by the launcher on open)
//   room.js, room.<hash>.js   the room page (IIFE)
//   scanner.<hash>.js, zxing_reader.<hash>.wasm  the barcode decoder (ES module), imported on first scan
//   console.js, console.<hash>.js  the associate console at /associates (IIFE)
//   sw.js, sw.<hash>.js       the room page's service worker (IIFE, served at /sw.js)
// Every .js is also written precompressed (.gz, .br) so the server sends compressed bytes
// without compressing per request, and manifest.json maps each bundle to its hashed file.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
mkdirSync(dist, { recursive: true });
for (const f of readdirSync(dist)) rmSync(join(dist, f)); // no stale hashed files

const common = {
  bundle: true,
  minify: true,
  target: ["chrome100", "firefox100", "safari15"],
  legalComments: "none",
  charset: "utf8", // the Arabic string table as UTF-8, not \u escapes (half the bytes)
  logLevel: "warning",
  write: false,
};

const hash = (bytes) => createHash("sha256").update(bytes).digest("hex").slice(0, 16);
const manifest = {};

/** Write `name` (+ .gz, .br), its hashed copy, and a manifest entry. */
function emit(logical, code, map) {
  const h = hash(code);
  const hashed = logical.replace(/\.js$/, `.${h}.js`);
  const files = logical === "widget-panel.js" || logical === "scanner.js" ? [hashed] : [logical, hashed];
  for (const file of files) {
    const withMap = map ? Buffer.concat([code, Buffer.from(`\n//# sourceMappingURL=${file}.map\n`)]) : code;
    writeFileSync(join(dist, file), withMap);
    writeFileSync(join(dist, `${file}.gz`), gzipSync(withMap, { level: 9 }));
    writeFileSync(join(dist, `${file}.br`), brotliCompressSync(withMap, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
    if (map) writeFileSync(join(dist, `${file}.map`), map);
  }
  const gz = gzipSync(code, { level: 9 }).length;
  const br = brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  manifest[logical] = { file: hashed, hash: h, bytes: code.length, gzip_bytes: gz, brotli_bytes: br };
  console.log(`${logical.padEnd(16)} ${String(code.length).padStart(6)} bytes  ${String(gz).padStart(6)} gzip  ${String(br).padStart(6)} brotli  → ${hashed}`);
  return hashed;
}

async function build(entry, options) {
  const out = await esbuild.build({ ...common, entryPoints: [join(here, entry)], outfile: join(dist, "out.js"), sourcemap: "external", ...options });
  const js = out.outputFiles.find((f) => f.path.endsWith(".js"));
  const map = out.outputFiles.find((f) => f.path.endsWith(".map"));
  return [Buffer.from(js.contents), map ? Buffer.from(map.contents) : null];
}

// the panel first: the launcher is built with the panel's hashed file name in it
const panelFile = emit("widget-panel.js", ...(await build("src/widget/panel.js", { format: "esm" })));
emit("widget.js", ...(await build("src/widget/index.js", { format: "iife", define: { __COSESSION_PANEL__: JSON.stringify(panelFile) } })));
// the barcode decoder (zxing-wasm) for the room page: an ES module chunk and its .wasm,
// fetched from this server only when someone starts scanning (no CDN, works offline)
const wasmSrc = readFileSync(join(here, "node_modules/zxing-wasm/dist/reader/zxing_reader.wasm"));
const wasmFile = `zxing_reader.${hash(wasmSrc)}.wasm`;
writeFileSync(join(dist, wasmFile), wasmSrc);
writeFileSync(join(dist, `${wasmFile}.gz`), gzipSync(wasmSrc, { level: 9 }));
manifest["zxing_reader.wasm"] = { file: wasmFile, hash: hash(wasmSrc), bytes: wasmSrc.length };
const scannerFile = emit("scanner.js", ...(await build("src/scan/zxing-entry.js", { format: "esm" })));
emit("room.js", ...(await build("src/room-page/index.js", {
  format: "iife",
  define: { __COSESSION_SCANNER__: JSON.stringify(scannerFile), __COSESSION_ZXING_WASM__: JSON.stringify(wasmFile) },
})));
emit("console.js", ...(await build("src/console/index.js", { format: "iife" })));
// the room page's service worker, served at /sw.js (scope /r/): Web Push notifications
emit("sw.js", ...(await build("src/sw/index.js", { format: "iife" })));
writeFileSync(join(dist, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
