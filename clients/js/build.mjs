// Bundle the widget and the room page: minified IIFEs in dist/, plus a manifest of
// content hashes that the server uses for cache-busting URLs.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
mkdirSync(dist, { recursive: true });

const entries = { widget: "src/widget/index.js", room: "src/room-page/index.js" };
const manifest = {};
for (const [name, entry] of Object.entries(entries)) {
  await esbuild.build({
    entryPoints: [join(here, entry)],
    outfile: join(dist, `${name}.js`),
    bundle: true,
    format: "iife",
    minify: true,
    target: ["chrome100", "firefox100", "safari15"],
    legalComments: "none",
    charset: "utf8", // the Arabic string table as UTF-8, not \u escapes (half the bytes)
    sourcemap: "linked",
    logLevel: "warning",
  });
  const code = readFileSync(join(dist, `${name}.js`));
  manifest[`${name}.js`] = {
    hash: createHash("sha256").update(code).digest("hex").slice(0, 16),
    bytes: code.length,
    gzip_bytes: gzipSync(code, { level: 9 }).length,
  };
  console.log(`${name}.js  ${code.length} bytes  ${manifest[`${name}.js`].gzip_bytes} gzipped`);
}
writeFileSync(join(dist, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
