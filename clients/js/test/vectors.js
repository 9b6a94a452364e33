// Load the shared golden vectors from protocol/vectors/ (the Python suite runs the same).
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "protocol", "vectors");

export function loadVectors(name) {
  return JSON.parse(readFileSync(join(root, name), "utf8"));
}

export function hexToBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A structural copy with plain prototypes (decoded maps have none) for deep equality. */
export function plain(value) {
  return JSON.parse(JSON.stringify(value));
}
