// The widget's options: the script tag's data-attributes, then `window.cosessionConfig`
// (a JS object set before the tag), then `cosession.configure({...})` at run time.
// Everything is normalised here so the rest of the shell trusts its input.

export const POSITIONS = ["bottom-right", "bottom-left", "top-right", "top-left"];

/** Parse "20" / "20 24" / "20px 24px" → [x, y] in px (0–400), or null. */
export function parseOffset(value) {
  if (value === undefined || value === null || value === "") return null;
  const parts = Array.isArray(value) ? value : String(value).trim().split(/[\s,]+/);
  const nums = parts.slice(0, 2).map((p) => parseFloat(p));
  if (!nums.length || nums.some((n) => !Number.isFinite(n))) return null;
  const clamp = (n) => Math.min(400, Math.max(0, Math.round(n)));
  return [clamp(nums[0]), clamp(nums.length > 1 ? nums[1] : nums[0])];
}

/** Options from the script tag's dataset. */
export function fromDataset(ds) {
  return {
    key: ds.key,
    locale: ds.locale,
    position: ds.position,
    offset: ds.offset,
    launcher: ds.launcher,
    launcherText: ds.launcherText,
    preload: ds.preload,
    product: {
      id: ds.productId,
      name: ds.productName,
      price: ds.productPrice,
      currency: ds.productCurrency,
      image: ds.productImage,
      url: ds.productUrl,
      variant: ds.productVariant,
    },
  };
}

/** Merge `next` over `cfg` (only the keys `next` sets), normalised. */
export function merge(cfg, next) {
  const out = { ...cfg };
  if (!next || typeof next !== "object") return out;
  if (typeof next.key === "string") out.key = next.key;
  if (typeof next.locale === "string") out.locale = next.locale;
  if (POSITIONS.includes(next.position)) out.position = next.position;
  const off = parseOffset(next.offset);
  if (off) out.offset = off;
  if (next.launcher !== undefined) out.launcher = next.launcher === "none" || next.launcher === false ? "none" : "button";
  if (typeof next.launcherText === "string") out.launcherText = next.launcherText.trim().slice(0, 60);
  if (["intent", "idle", "open"].includes(next.preload)) out.preload = next.preload;
  if (next.product && typeof next.product === "object" && next.product.id) out.product = next.product;
  return out;
}

export const DEFAULTS = { key: "", locale: "", position: "bottom-right", offset: null, launcher: "button", launcherText: "", preload: "intent", product: null };

/** A product from the page, checked and clipped ({id, name, price (minor units), currency, …}), or null. */
export function productFrom(p) {
  if (!p || !p.id || !p.name) return null;
  const price = Math.round(Number(p.price));
  const url = (u) => (u ? new URL(u, location.href).href : undefined);
  return {
    id: String(p.id).slice(0, 128),
    name: String(p.name).slice(0, 200),
    price: Number.isFinite(price) && price >= 0 ? price : 0,
    currency: /^[A-Za-z]{3}$/.test(p.currency || "") ? p.currency.toUpperCase() : "EUR",
    image: url(p.image),
    url: url(p.url || location.href),
    variant: p.variant || undefined,
  };
}
