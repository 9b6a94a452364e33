// The panel's CSS (loaded with the panel): the room UI's styles plus the start form, with
// the shop's theme properties (--cosession-accent, --cosession-surface, --cosession-text,
// --cosession-radius, --cosession-font) mapped onto the room UI's own variables.

import { baseCss } from "../ui/styles.js";

const FONT = 'var(--cosession-font,system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif)';

export const panelCss =
  baseCss +
  `
.cs-root .cs{--accent:var(--cosession-accent,#5b3df5);--accent-fg:var(--cosession-accent-text,#fff);--bg:var(--cosession-surface,#fff);--fg:var(--cosession-text,#1d1d21);font-family:${FONT}}
.cs-root .cs *{font-family:inherit}
.cs-panel > .cs{flex:1;min-height:0}
.cs-panel.cs-short{height:auto}
.cs-close{border:0!important;min-height:30px!important;padding:4px 8px!important;color:#55555f!important}
.cs-root .cs-start{position:relative;overflow:auto;text-align:start}
.cs-x{position:absolute;inset-inline-end:8px;top:8px}
.cs-form-title{font-size:20px;font-weight:700;padding-inline-end:30px}
.cs-form-product{font-size:13px;background:#f7f5ff;color:#1d1d21;border-radius:8px;padding:8px 10px}
.cs-field{display:flex;flex-direction:column;gap:4px;font-weight:600}
.cs-start input{border-color:#767680}
.cs-start input:focus-visible{outline:2px solid var(--accent);outline-offset:1px}
`;
