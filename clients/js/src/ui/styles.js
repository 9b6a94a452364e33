// The room UI's CSS, shared by the room page (in the document) and the widget (inside
// its shadow root). Everything is under .cs so nothing leaks into a host page.

/** The catalog flags on cart lines (room-retail.js): [text, background], each pair at
 * 4.5:1 or more (test/room-retail.test.js checks); checkout notes use --muted on --bg. */
export const FLAG_COLOURS = {
  "price-up": ["#7a4100", "#fff4e5"],
  "price-down": ["#1b5e20", "#e8f5e9"],
  "out-of-stock": ["#a4000f", "#fdecea"],
};
export const NOTE_COLOURS = ["#5f5f6a", "#ffffff"];

const flagCss = Object.entries(FLAG_COLOURS)
  .map(([kind, [fg, bg]]) => `.cs-flag[data-kind=${kind}]{color:${fg};background:${bg}}`)
  .join("\n");

export const baseCss = `
.cs{--fg:#1d1d21;--muted:#5f5f6a;--line:#e7e7ee;--field:#767680;--bg:#fff;--soft:#f5f5f9;--accent:#5b3df5;--accent-fg:#fff;--ok:#0b6b31;--warn:#8a5200;--bad:#b3261e;
font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg);
display:flex;flex-direction:column;min-height:0;box-sizing:border-box;text-align:start;letter-spacing:normal;-webkit-font-smoothing:antialiased}
.cs *,.cs *::before,.cs *::after{box-sizing:border-box;font:inherit;color:inherit;margin:0;padding:0;letter-spacing:inherit}
.cs [hidden],.cs[hidden]{display:none!important}
.cs button{cursor:pointer;border:1px solid var(--line);background:var(--bg);border-radius:8px;padding:6px 10px;min-height:34px;display:inline-flex;align-items:center;justify-content:center;gap:4px;white-space:nowrap;-webkit-tap-highlight-color:transparent}
.cs button:hover{background:var(--soft)}
.cs button:disabled,.cs button[aria-disabled=true]{opacity:.45;cursor:default}
.cs :focus-visible{outline:2px solid var(--accent);outline-offset:2px}
.cs-sr{position:absolute!important;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
.cs button.cs-primary{background:var(--accent);border-color:var(--accent);color:var(--accent-fg);font-weight:600}
.cs button.cs-primary:hover{filter:brightness(1.08)}
.cs button[aria-pressed="true"]{background:#ece8ff;border-color:var(--accent);color:var(--accent)}
.cs input{border:1px solid var(--field);border-radius:8px;padding:8px 10px;min-height:38px;background:var(--bg);width:100%;outline:none;min-width:0}
.cs input:focus{border-color:var(--accent);box-shadow:0 0 0 3px #5b3df533}
.cs input:focus-visible{outline:2px solid var(--accent);outline-offset:1px}
.cs img{display:block;max-width:100%}
.cs ul{list-style:none}
.cs small,.cs .cs-muted{color:var(--muted);font-size:12px}
.cs-head{display:flex;align-items:center;gap:8px;padding:10px 12px;border-bottom:1px solid var(--line);background:var(--bg)}
.cs-title{font-weight:700;font-size:16px;flex:1;min-width:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.cs-status{font-size:12px;border-radius:999px;padding:2px 8px;background:var(--soft);color:var(--muted);white-space:nowrap}
.cs-status::before{content:"";display:inline-block;width:7px;height:7px;border-radius:50%;background:currentColor;margin-inline-end:5px;vertical-align:1px}
.cs-status[data-status=live]{color:var(--ok);background:#e8f7ee}
.cs-title:focus{outline:none}
.cs-title:focus-visible{outline:2px solid var(--accent)}
.cs-status[data-status=reconnecting],.cs-status[data-status=connecting]{color:var(--warn);background:#fff4e0}
.cs-status[data-status=offline],.cs-status[data-status=closed]{color:var(--bad);background:#fdeceb}
.cs-banner{padding:8px 12px;background:#fff4e0;color:#7a4a00;font-size:13px;border-bottom:1px solid #f3dfb8}
.cs-banner[data-kind=offline]{background:#fdeceb;color:#8a211b;border-color:#f5cfcc}
.cs-since{padding:10px 12px;background:var(--soft);border-bottom:1px solid var(--line)}
.cs-since[hidden]{display:none}
.cs-since-title{font-size:15px;margin:0 0 4px}
.cs-since-title:focus{outline:none}
.cs-since-summary{margin:0 0 6px;font-weight:600}
.cs-since-list{margin:0 0 8px;padding-inline-start:18px;font-size:13px}
.cs-since-item{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.cs-new-mark{float:inline-end;font-size:11px;font-weight:700;color:var(--accent);text-transform:uppercase}
.cs-new-mark[hidden]{display:none}
.cs-help{padding:6px 12px;border-bottom:1px solid var(--line);font-size:14px}
.cs-help-row{display:flex;flex-wrap:wrap;align-items:center;gap:8px}
.cs-help-status{margin:0;flex:1 1 12em;overflow-wrap:anywhere}
.cs-help[data-state=claimed] .cs-help-status{font-weight:700}
.cs-help-ask,.cs-help-close,.cs-help-actions button{min-height:44px;padding:0 14px;border-radius:999px;border:1px solid var(--field);background:var(--bg);color:var(--fg);font:inherit;cursor:pointer}
.cs-help-form{display:flex;flex-direction:column;gap:6px;margin-top:6px}
.cs-help-form fieldset{border:0;padding:0;margin:0;display:flex;gap:12px;flex-wrap:wrap}
.cs-help-status:empty{flex:0 0 0;min-width:0}
.cs-help-where{display:inline-flex;align-items:center;gap:6px;min-height:44px;white-space:nowrap}
.cs .cs-help-where input{flex:none;width:20px;height:20px;min-height:0;margin:0;padding:0}
.cs-help-dept{min-height:40px;font:inherit;padding:0 8px;border:1px solid var(--field);border-radius:6px}
.cs-help-actions{display:flex;gap:8px}
.cs-tabs{display:flex;border-bottom:1px solid var(--line);background:var(--bg)}
.cs-tabs button{flex:1 1 auto;min-width:0;border:0;border-radius:0;border-bottom:2px solid transparent;min-height:42px;color:var(--muted);font-weight:600}
.cs-tabs button[aria-selected=true]{color:var(--accent);border-bottom-color:var(--accent);background:var(--bg)}
.cs-tabs b{font-weight:600;background:var(--soft);border-radius:999px;padding:0 6px;font-size:12px}
.cs-panes{flex:1;min-height:0;display:flex}
.cs-pane{flex:1;min-width:0;overflow:auto;padding:12px;display:flex;flex-direction:column;gap:10px}
.cs-pane h3{font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);font-weight:700}
.cs-empty{color:var(--muted);text-align:center;padding:18px 8px;font-size:13px}
.cs-card{display:flex;gap:10px;align-items:center;border:1px solid var(--line);border-radius:10px;padding:8px;background:var(--bg)}
.cs-card-img,.cs-line-img{width:52px;height:52px;flex:none;border-radius:8px;background:var(--soft);object-fit:cover;display:flex;align-items:center;justify-content:center;font-weight:700;color:var(--muted);overflow:hidden}
.cs-card-main,.cs-line-main{flex:1;min-width:0}
.cs-name{font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;display:block}
.cs-price{color:var(--muted);font-size:13px}
.cs-focus{background:#f7f5ff;border-color:#ddd5ff}
.cs-focus-label{font-size:12px;color:var(--accent);font-weight:600}
.cs-line{display:flex;gap:10px;padding:10px 0;border-bottom:1px solid var(--line)}
.cs-line:last-child{border-bottom:0}
.cs-line-actions{display:flex;flex-wrap:wrap;align-items:center;gap:6px;margin-top:6px}
.cs-poll-section{margin-top:14px}
.cs-polls{list-style:none;margin:0 0 8px;padding:0;display:flex;flex-direction:column;gap:10px}
.cs-poll{border:1px solid var(--line,#ddd);border-radius:10px;padding:10px}
.cs-poll-q{font-weight:600;margin:0 0 2px}
.cs-poll-meta,.cs-poll-result{margin:0 0 6px;font-size:13px;color:var(--muted)}
.cs-poll-result{color:inherit;font-weight:600}
.cs-poll-options{list-style:none;margin:0 0 6px;padding:0;display:flex;flex-direction:column;gap:6px}
.cs-poll-option{display:flex;justify-content:space-between;gap:8px;width:100%;text-align:start}
.cs-poll-options li[data-winner="true"] .cs-poll-option{border-color:var(--accent);font-weight:600}
.cs-poll-form{display:flex;flex-direction:column;gap:6px;margin-top:8px}
.cs-poll-lines{border:0;padding:0;margin:0}
.cs-poll-line{display:flex;gap:6px;align-items:center}
.cs-poll-buttons{display:flex;gap:8px}
.cs-poll-error{color:#b00020;margin:0}
.cs-stepper{display:inline-flex;align-items:center;border:1px solid var(--line);border-radius:8px;overflow:hidden}
.cs-stepper button{border:0;border-radius:0;min-width:34px}
.cs-qty{min-width:26px;text-align:center;font-weight:600}
.cs-remove{color:var(--bad)}
.cs-total{display:flex;justify-content:space-between;font-weight:700;font-size:15px;padding-top:6px}
.cs-chat-log{flex:1;display:flex;flex-direction:column}
.cs-chat{display:flex;flex-direction:column;gap:8px;flex:1}
.cs-msg{max-width:86%;align-self:flex-start;background:var(--soft);border-radius:12px;border-end-start-radius:4px;padding:7px 10px}
.cs-msg.cs-mine{align-self:flex-end;background:#ece8ff;border-radius:12px;border-end-end-radius:4px}
.cs-msg.cs-pending{border:1px dashed var(--accent);font-style:italic}
.cs-msg-by{font-size:12px;font-weight:700;color:#4a4a55}
.cs-msg-text{white-space:pre-wrap;overflow-wrap:anywhere}
.cs-msg .cs-card{margin-top:6px}
.cs-typing{font-size:12px;color:var(--muted);min-height:16px}
.cs-questions{display:flex;flex-direction:column;gap:6px;padding:8px 12px;border-bottom:1px solid var(--line);max-height:45%;overflow:auto}
.cs-q-head{display:flex;align-items:center;gap:8px;flex-wrap:wrap}
.cs-q-title{font-size:13px;font-weight:700}
.cs-q-count{font-size:12px;font-weight:700;color:var(--accent)}
.cs-q-head button{margin-inline-start:auto}
.cs-q-list{list-style:none;display:flex;flex-direction:column;gap:6px}
.cs-q{border:1px solid var(--line);border-radius:10px;padding:6px 8px;display:flex;flex-direction:column;gap:4px}
.cs-q.cs-for-me{border-color:var(--accent);background:#f6f4ff}
.cs-q-top{display:flex;gap:6px;align-items:center;flex-wrap:wrap;font-size:12px}
.cs-q-badge,.cs-mention-badge{font-size:11px;font-weight:700;color:var(--accent-fg);background:var(--accent);border-radius:999px;padding:1px 7px}
.cs-q-who{font-weight:700;color:#4a4a55}
.cs-q-state{margin-inline-start:auto;color:var(--muted)}
.cs-q[data-state=answered] .cs-q-state{color:var(--ok)}
.cs-q-text,.cs-q-a{white-space:pre-wrap;overflow-wrap:anywhere}
.cs-q-about{font-size:12px;color:var(--muted)}
.cs-q-answers{list-style:none;padding-inline-start:10px;border-inline-start:2px solid var(--line);display:flex;flex-direction:column;gap:2px}
.cs-q-answer input,.cs-ask input[type=text],.cs-ask input:not([type]),.cs-ask select{flex:1;min-width:0;border:1px solid var(--field);border-radius:8px;padding:6px 8px;min-height:34px;background:var(--bg)}
.cs-ask{display:flex;flex-direction:column;gap:4px;border:1px solid var(--line);border-radius:10px;padding:8px}
.cs-ask-whom{border:0;display:flex;flex-direction:column;gap:2px}
.cs-ask-to{display:flex;flex-wrap:wrap;gap:4px 12px}
.cs-ask-person{display:flex;align-items:center;gap:4px}
.cs-ask-hint{font-size:12px;color:var(--bad)}
.cs-ask-actions{display:flex;gap:6px}
.cs-msg.cs-mention-me{outline:2px solid var(--accent)}
.cs-mention-badge{display:inline-block;margin-block:2px}
.cs-mentions{list-style:none;border:1px solid var(--line);border-radius:8px;background:var(--bg);max-height:180px;overflow:auto}
.cs-mention-option{padding:6px 10px;cursor:pointer}
.cs-mention-option[aria-selected=true]{background:#ece8ff;color:var(--accent);font-weight:700}
.cs-composer{display:flex;flex-direction:column;gap:2px;padding:8px 12px;border-top:1px solid var(--line);background:var(--bg)}
.cs-composer-row{display:flex;gap:6px;align-items:center}
.cs-composer-label,.cs-field-label{font-size:12px;font-weight:600;color:var(--muted)}
.cs-attach-chip{font-size:12px;color:var(--accent);padding:0 12px 6px}
.cs-person{display:flex;gap:10px;align-items:center;padding:8px 0;border-bottom:1px solid var(--line)}
.cs-avatar{width:36px;height:36px;border-radius:50%;flex:none;color:#fff;font-weight:700;display:flex;align-items:center;justify-content:center;font-size:14px}
.cs-person-main{flex:1;min-width:0}
.cs-person-name{display:flex;align-items:center;gap:6px}
.cs-device{display:inline-flex;color:var(--muted)}
.cs-remove{min-width:34px;padding:6px!important}
.cs-share{border:1px dashed var(--line);border-radius:10px;padding:10px;display:flex;flex-direction:column;gap:8px}
.cs-share-row{display:flex;gap:6px;flex-wrap:wrap}
.cs-share-row input{flex:1 1 12em}
.cs-qr{width:148px;height:148px;align-self:center;image-rendering:pixelated}
.cs-store{margin:0;padding:4px 12px;font-weight:600;color:var(--muted)}
.cs-where{color:var(--muted)}
.cs-scan-area{display:flex;flex-direction:column;gap:8px}
.cs-scan{border:1px dashed var(--line);border-radius:10px;padding:10px;display:flex;flex-direction:column;gap:8px}
.cs-scan-video{width:100%;max-height:40vh;background:#000;border-radius:8px;object-fit:cover}
.cs-scan-form{display:flex;flex-direction:column;gap:4px}
.cs-scan-result{display:flex;flex-direction:column;gap:8px}
.cs-form{display:flex;flex-direction:column;gap:10px;padding:16px}
.cs-form p{color:var(--muted)}
.cs-form label{display:flex;flex-direction:column;gap:4px;font-weight:600}
.cs-error{color:var(--bad);font-size:13px}
.cs-chat-scroll{padding:12px}
.cs-chat-wrap{padding:0;gap:0;overflow:hidden}
.cs-focus-area{display:flex;flex-direction:column;gap:8px}
.cs-focus-slot{display:contents}
.cs-note{align-self:center;max-width:100%;text-align:center;font-size:12px;color:var(--muted);background:var(--bg);border:1px solid var(--line);border-radius:999px;padding:3px 10px;overflow-wrap:anywhere}
.cs-note b{font-weight:700;color:var(--fg)}
.cs-qa-ask q{font-style:italic}
.cs-qa-answer{border-inline-start:3px solid var(--ok)}
.cs-qa-head{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 8px}
.cs-badge{display:inline-block;font-size:11px;font-weight:700;border:1px solid currentColor;border-radius:4px;padding:0 5px;color:var(--ok)}
.cs-qa-about{font-size:12px;color:var(--muted)}
.cs-qa-form{display:flex;flex-direction:column;gap:4px;margin-top:6px;width:100%}
.cs-qa-form label{font-weight:600;font-size:13px}
.cs-qa-form textarea{font:inherit;min-height:3em}
.cs-qa-hint{margin:0;font-size:12px;color:var(--muted)}
.cs-qa-buttons{display:flex;gap:6px}
.cs-line-flags{display:flex;flex-wrap:wrap;gap:4px;margin-top:4px}
.cs-flag{display:inline-block;font-size:12px;font-weight:600;border:1px solid currentColor;border-radius:4px;padding:1px 6px}
${flagCss}
.cs-line[data-out-of-stock] img.cs-line-img{filter:grayscale(1)}
.cs-total-note{font-size:13px;font-weight:600;color:var(--bad)}
.cs-call{border-bottom:1px solid var(--line);padding:8px 12px;display:flex;flex-direction:column;gap:8px;background:var(--bg)}
.cs-call-bar{display:flex;flex-wrap:wrap;align-items:center;gap:8px}
.cs-call-status{flex:1 1 12em;min-width:0;font-size:13px;color:var(--muted)}
.cs-call-status:empty{display:none}
.cs-call-status[data-kind=problem]{color:var(--bad);font-weight:600}
.cs-call-buttons{display:flex;flex-wrap:wrap;gap:6px}
.cs button.cs-call-leave{background:var(--bad);border-color:var(--bad);color:#fff;font-weight:600}
.cs-call-tiles{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:6px}
.cs-tile{position:relative;aspect-ratio:4/3;border-radius:10px;overflow:hidden;background:#1d1d21;color:#fff;display:flex;align-items:center;justify-content:center;outline:3px solid transparent;outline-offset:-3px}
.cs-tile[data-speaking=true]{outline-color:#2fd27a}
.cs-tile[data-link=failed]{outline-color:#ff8a80}
.cs-tile-video{position:absolute;inset:0;width:100%;height:100%;object-fit:cover;background:#1d1d21}
.cs-tile[data-self=true] .cs-tile-video{transform:scaleX(-1)}
.cs-tile-avatar{width:48px;height:48px;font-size:18px}
.cs-tile-caption{position:absolute;inset-inline:0;bottom:0;padding:4px 8px;background:#000000b3;color:#fff;font-size:12px;display:flex;flex-wrap:wrap;gap:0 6px;align-items:baseline}
.cs-tile-name{font-weight:700;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;max-width:100%}
.cs .cs-tile-flags{color:#fff}
@media (min-width:700px){.cs-call-tiles{grid-template-columns:repeat(auto-fill,minmax(200px,1fr))}}
@media (forced-colors:active){
  .cs-flag,.cs-note{border-color:CanvasText}
  .cs-flag[data-kind=out-of-stock],.cs-total-note{text-decoration:underline}
  .cs-tile{forced-color-adjust:none}
  .cs-tabs button{border-bottom-color:Canvas}
  .cs-tabs button[aria-selected=true]{border-bottom:4px solid Highlight;text-decoration:underline}
  .cs-status::before{forced-color-adjust:none;background:CanvasText}
  .cs-avatar{forced-color-adjust:none}
}
`;

// The room page: the document is ours, the view fills the screen (mobile first).
export const pageCss = `
html,body{margin:0;height:100%;background:#f5f5f9}
#cosession-room{height:100%;height:100dvh}
.cs-page{height:100%;max-width:1200px;margin:0 auto;box-shadow:0 0 0 1px #e7e7ee}
.cs-page .cs-composer{position:sticky;bottom:0}
.cs-chat-wrap{display:flex;flex-direction:column;min-height:0}
@media (min-width:900px){
  .cs-page .cs-tabs{display:none}
  .cs-page .cs-panes > .cs-pane{display:flex!important;border-inline-end:1px solid #e7e7ee}
  .cs-page .cs-panes > .cs-pane:last-child{border-inline-end:0}
}
`;
