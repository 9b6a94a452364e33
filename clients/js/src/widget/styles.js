// The launcher's CSS. Nothing here is !important: a shop's own rules on the
// <cosession-widget> host (display:none, the `hidden` attribute, top/right/bottom/left,
// z-index) always win.
//
// hostCss goes into the page (a constructed stylesheet in document.adoptedStyleSheets)
// with zero specificity (:where): it comes after the page's sheets, so it beats blanket
// resets such as `* { all: unset }`, and any rule that names the element beats it.
// launcherCss is inside the shadow root: page CSS cannot reach in, and `all:initial` on
// .cs-root stops inherited page styles (fonts, colours, letter-spacing) at the host —
// custom properties still inherit, which is how a shop themes the widget
// (--cosession-accent, … see docs/widget.md). On a small or very zoomed screen (≤ 480 px
// wide or high) the launcher is a round icon button (its label stays for screen readers)
// and the panel fills the screen.

const FONT = 'var(--cosession-font,system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif)';
const OX = "var(--cosession-offset-x,var(--_ox,20px))";
const OY = "var(--cosession-offset-y,var(--_oy,20px))";
export const SMALL = "(max-width:480px),(max-height:480px)";

export const hostCss = `
:where(cosession-widget){display:block;position:fixed;z-index:2147483000;right:${OX};bottom:${OY};left:auto;top:auto;width:auto;height:auto;
margin:0;padding:0;border:0;background:none;visibility:visible;opacity:1;transform:none;filter:none;pointer-events:auto}
:where(cosession-widget[data-position$=left]){left:${OX};right:auto}
:where(cosession-widget[data-position^=top]){top:${OY};bottom:auto}
:where(cosession-widget[hidden]){display:none}
`;

export const launcherCss = `
.cs-root{all:initial;display:block;position:relative;font:14px/1.4 ${FONT};color:var(--cosession-text,#1d1d21)}
.cs-launcher{all:initial;box-sizing:border-box;font:600 15px/1 ${FONT};color:var(--cosession-accent-text,#fff);background:var(--cosession-accent,#5b3df5);
border-radius:var(--cosession-launcher-radius,999px);padding:13px 18px;min-height:46px;display:inline-flex;align-items:center;gap:8px;cursor:pointer;
box-shadow:0 6px 20px #2a1a8a40,0 1px 3px #0003}
.cs-launcher:hover{filter:brightness(1.08)}
.cs-launcher:focus-visible{outline:3px solid var(--cosession-focus,#1d1d21);outline-offset:2px;box-shadow:0 0 0 2px #fff,0 6px 20px #2a1a8a40}
.cs-launcher[hidden],.cs-badge[hidden]{display:none}
.cs-badge{background:var(--cosession-accent-text,#fff);color:var(--cosession-accent,#5b3df5);border-radius:999px;font-size:12px;padding:3px 7px;min-width:20px;text-align:center}
.cs-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.cs-panel{position:absolute;right:0;bottom:calc(100% + 12px);width:380px;height:600px;max-height:calc(100vh - 110px - ${OY});background:var(--cosession-surface,#fff);
border-radius:var(--cosession-radius,14px);overflow:hidden;box-shadow:0 12px 40px #1d1d2140,0 2px 6px #0002;display:flex;flex-direction:column}
.cs-panel:focus{outline:none}
.cs-panel[hidden]{display:none}
:host([data-position$=left]) .cs-panel{right:auto;left:0}
:host([data-position^=top]) .cs-panel{bottom:auto;top:calc(100% + 12px)}
:host([data-launcher=none]) .cs-panel{bottom:0;top:auto}
:host([data-launcher=none][data-position^=top]) .cs-panel{top:0;bottom:auto}
.cs-loading{margin:auto;color:var(--cosession-text,#1d1d21)}
@media ${SMALL}{
.cs-panel,:host([data-position][data-launcher]) .cs-panel{position:fixed;inset:0;width:auto;height:auto;max-height:none;border-radius:0}
.cs-launcher{padding:12px;box-shadow:0 4px 14px #2a1a8a40,0 1px 3px #0003}
.cs-launcher:focus-visible{box-shadow:0 0 0 2px #fff}
.cs-launcher>.cs-label{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
}
@media (forced-colors:active){.cs-launcher{border:2px solid ButtonText}.cs-panel{border:1px solid CanvasText}}
`;
