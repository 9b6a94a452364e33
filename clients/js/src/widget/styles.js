// Widget-only CSS, inside the shadow root. `:host` rules marked !important win over any
// !important rule of the page (for important declarations the inner context wins), and
// `all: initial` stops inherited page styles (fonts, colours) at the host. On a screen
// 480 px wide or less the launcher is a round icon button (its label stays for screen
// readers), so it covers as little of the shop's page as it can.

export const widgetCss = `
:host{all:initial!important;display:block!important;position:fixed!important;right:20px!important;bottom:20px!important;left:auto!important;top:auto!important;
width:auto!important;height:auto!important;margin:0!important;padding:0!important;border:0!important;background:none!important;z-index:2147483000!important;
visibility:visible!important;opacity:1!important;transform:none!important;filter:none!important;pointer-events:auto!important;
font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif!important;color:#1d1d21!important;direction:ltr!important}
.cs-launcher{all:initial;font:600 15px/1 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#fff;background:#5b3df5;
border-radius:999px;padding:13px 18px;display:flex;align-items:center;gap:8px;cursor:pointer;box-shadow:0 6px 20px #2a1a8a40,0 1px 3px #0003;float:right}
.cs-launcher:hover{filter:brightness(1.08)}
.cs-launcher:focus-visible{outline:3px solid #b7a9ff;outline-offset:2px}
.cs-badge{background:#fff;color:#5b3df5;border-radius:999px;font-size:12px;padding:3px 7px;min-width:20px;text-align:center}
.cs-badge[hidden]{display:none}
.cs-panel{position:absolute;right:0;bottom:62px;width:380px;height:600px;max-height:calc(100vh - 110px);background:#fff;border-radius:14px;overflow:hidden;
box-shadow:0 12px 40px #1d1d2140,0 2px 6px #0002;display:flex;flex-direction:column}
.cs-panel[hidden]{display:none}
.cs-panel.cs-short{height:auto}
.cs-panel > .cs{flex:1;min-height:0}
.cs-close{border:0!important;min-height:30px!important;padding:4px 8px!important;color:#6b6b76!important}
.cs-start{position:relative;overflow:auto}
.cs-x{position:absolute;right:8px;top:8px}
.cs-form-title{font-size:20px;font-weight:700;padding-right:30px}
.cs-form-product{font-size:13px;background:#f7f5ff;border-radius:8px;padding:8px 10px}
@media (max-width:480px){
  .cs-panel{position:fixed;inset:0;width:auto;height:auto;max-height:none;border-radius:0}
  .cs-launcher{padding:13px;box-shadow:0 4px 14px #2a1a8a40,0 1px 3px #0003}
  .cs-launcher > .cs-label{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
}
`;
