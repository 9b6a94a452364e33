// The associate console's CSS (on top of the room UI's baseCss): one column on a phone
// (the queue, or the open room with a "back" button), the queue and the room side by side
// on a tablet or wider.

export const consoleCss = `
html,body{margin:0;min-height:100%;background:#f5f5f9}
#cosession-console{max-width:1200px;margin:0 auto;min-height:100vh;min-height:100dvh}
.cs-form{max-width:480px;margin:0 auto;width:100%}
.cs-form h1{font-size:22px;font-weight:700}
.cs-form label{font-weight:600}
.cs-console{display:flex;flex-direction:column;min-height:100vh;min-height:100dvh;background:var(--bg)}
.cs-console *{overflow-wrap:anywhere}
.cs-console-head{display:flex;flex-wrap:wrap;align-items:center;gap:6px 10px;padding:10px 12px;border-bottom:1px solid var(--line)}
.cs-console-head h1{font-size:18px;font-weight:700;flex:1 1 auto}
.cs-console-who{font-size:13px;color:var(--muted)}
.cs-stream{font-size:12px;border-radius:999px;padding:2px 8px;background:var(--soft);color:var(--muted)}
.cs-stream[data-status=live]{color:var(--ok)}
.cs-stream[data-status=reconnecting]{color:var(--warn)}
.cs-notice{margin:8px 12px 0;padding:8px 10px;border-radius:8px;background:#fff4e5;color:#7a4100;font-weight:600}
.cs-notice:empty{display:none}
.cs-console-body{display:grid;grid-template-columns:minmax(0,1fr);flex:1;min-height:0}
.cs-console-body[data-view=room] .cs-queue-pane{display:none}
.cs-console-body[data-view=queue] .cs-rooms{display:none}
.cs-queue-pane{display:flex;flex-direction:column;gap:8px;padding:12px;min-width:0}
.cs-queue-pane h2{font-size:16px;font-weight:700}
.cs-queue,.cs-active{display:flex;flex-direction:column;gap:8px}
.cs-q-item{border:1px solid var(--line);border-radius:10px;padding:10px;display:flex;flex-direction:column;gap:6px;background:var(--bg)}
.cs-q-item[data-level]:not([data-level="0"]){border-color:#b3261e;border-inline-start-width:4px}
.cs-q-top{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 8px}
.cs-q-name{font-weight:700;flex:1 1 auto;min-width:0}
.cs-q-wait{font-size:13px;color:var(--muted);font-variant-numeric:tabular-nums}
.cs-q-level{font-size:12px;font-weight:700;color:#fff;background:#b3261e;border-radius:4px;padding:1px 6px}
.cs-q-details{display:flex;flex-direction:column;gap:2px;font-size:13px;color:var(--muted)}
.cs-q-actions{display:flex;justify-content:flex-end}
.cs-q-actions button{min-width:96px}
.cs-active button{width:100%;justify-content:flex-start;white-space:normal;text-align:start}
.cs-active button[aria-current=true]{border-color:var(--accent);color:var(--accent);font-weight:600}
.cs-empty{color:var(--muted);font-size:13px}
.cs-rooms{display:flex;flex-direction:column;min-width:0}
.cs-room-pane{display:flex;flex-direction:column;min-width:0;flex:1}
.cs-room-tools{display:flex;flex-direction:column;gap:8px;padding:10px 12px;border-bottom:1px solid var(--line)}
.cs-room-bar{display:flex;flex-wrap:wrap;gap:8px;justify-content:space-between}
.cs-sub{font-size:13px;font-weight:600;color:var(--muted)}
.cs-replies{display:flex;flex-wrap:wrap;gap:6px}
.cs-replies h3{flex-basis:100%}
.cs-replies button{white-space:normal;text-align:start;max-width:100%}
.cs-search{display:flex;flex-direction:column;gap:4px}
.cs-search-row{display:flex;gap:6px}
.cs-results{display:flex;flex-direction:column;gap:4px}
.cs-result{display:flex;align-items:center;gap:8px;border:1px solid var(--line);border-radius:8px;padding:6px 8px}
.cs-result-main{flex:1;min-width:0;display:flex;flex-direction:column}
.cs-room-mount{display:flex;flex-direction:column;flex:1;min-height:420px}
.cs-room-mount .cs-widget{flex:1;min-height:0}
.cs-room-mount [data-testid=checkout]{display:none}
.cs-error{color:var(--bad);font-size:13px}
.cs-error:empty{display:none}
@media (min-width:768px){
  .cs-console-body{grid-template-columns:minmax(260px,2fr) minmax(0,3fr)}
  .cs-console-body[data-view] .cs-queue-pane,.cs-console-body[data-view] .cs-rooms{display:flex}
  .cs-queue-pane{border-inline-end:1px solid var(--line);max-height:calc(100dvh - 52px);overflow:auto;position:sticky;top:0}
  .cs-back{display:none!important}
}
`;
