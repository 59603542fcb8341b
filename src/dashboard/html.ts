/**
 * Server-rendered HTML for the dashboard: one escaping helper, one layout, one stylesheet and one small
 * script. No build step and nothing fetched at run time: the page is whole as the server sends it, and the
 * script only re-fetches the page's live region from this server (never from Temporal) every 2 s.
 */

/** Text for an element or an attribute value: every character that could open markup is escaped. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A tagged template whose interpolations are escaped unless they are already `Html`. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Part = Html | string | number | undefined | null | false | Part[];

function render(part: Part): string {
  if (part === undefined || part === null || part === false) return '';
  if (Array.isArray(part)) return part.map(render).join('');
  if (part instanceof Html) return part.text;
  return esc(part);
}

export function html(strings: TemplateStringsArray, ...parts: Part[]): Html {
  let out = strings[0]!;
  parts.forEach((p, i) => (out += render(p) + strings[i + 1]!));
  return new Html(out);
}

export const STATUS_LABEL: Record<string, string> = {
  RUNNING: 'Running',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  CANCELLED: 'Cancelled',
  TERMINATED: 'Terminated',
  TIMED_OUT: 'Timed out',
  CONTINUED_AS_NEW: 'Continued',
  PAUSED: 'Paused',
  UNKNOWN: 'Unknown',
};

export function statusBadge(status: string): Html {
  return html`<span class="badge s-${status.toLowerCase()}">${STATUS_LABEL[status] ?? status}</span>`;
}

/** A labelled bar: the native element carries the value for assistive technology, the text for everyone. */
export function bar(percent: number | undefined, label: string): Html {
  if (percent === undefined) return html`<span class="muted">—</span>`;
  const p = Math.max(0, Math.min(100, Math.round(percent)));
  return html`<span class="bar"><progress max="100" value="${p}" aria-label="${label}">${p}%</progress> <span class="pct">${p}%</span></span>`;
}

export function age(fromIso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(fromIso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

export function time(iso: string | undefined): Html {
  if (!iso) return html``;
  return html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>`;
}

export const CSS = `
:root{--fg:#1b1f24;--muted:#57606a;--bg:#fff;--line:#d0d7de;--accent:#0b5cad;--ok:#1a7f37;--bad:#b42318;--warn:#8a5300;--panel:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,summary:focus-visible{outline:3px solid #f5a623;outline-offset:2px}
header.top{display:flex;gap:1.5rem;align-items:center;padding:.6rem 1.25rem;background:#102a43;color:#fff;flex-wrap:wrap}
header.top a{color:#fff;text-decoration:none;font-weight:600}
header.top nav{display:flex;gap:1.25rem}
header.top a[aria-current=page]{text-decoration:underline;text-underline-offset:4px}
header.top .brand{font-size:1.1rem;margin-right:.5rem}
main{padding:1rem 1.25rem;max-width:1400px;margin:0 auto}
h1{font-size:1.35rem;margin:.2rem 0 .6rem;word-break:break-all}
h2{font-size:1.1rem;margin:1.4rem 0 .5rem}
.muted{color:var(--muted)}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.45rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.85rem;color:var(--muted);font-weight:600}
td.id{word-break:break-all;min-width:12rem}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:1rem;font-size:.82rem;font-weight:600;border:1px solid currentColor;white-space:nowrap}
.s-running{color:var(--accent)}.s-completed{color:var(--ok)}.s-failed,.s-terminated,.s-timed_out{color:var(--bad)}.s-cancelled,.s-paused{color:var(--warn)}
.bar{display:inline-flex;align-items:center;gap:.4rem;white-space:nowrap}
progress{width:9rem;height:.9rem;accent-color:var(--accent)}
.wide progress{width:min(28rem,60vw);height:1.1rem}
form.filters{display:flex;flex-wrap:wrap;gap:.75rem;align-items:end;margin:.5rem 0 1rem;padding:.75rem;background:var(--panel);border:1px solid var(--line);border-radius:6px}
form.filters label{display:flex;flex-direction:column;font-size:.85rem;font-weight:600;gap:.2rem}
input,select,button{font:inherit;padding:.35rem .5rem;border:1px solid #8c959f;border-radius:4px;background:#fff;color:var(--fg)}
button{cursor:pointer;background:var(--accent);color:#fff;border-color:var(--accent);font-weight:600}
a.btn{display:inline-block;padding:.35rem .8rem;border:1px solid var(--accent);border-radius:4px;font-weight:600;text-decoration:none;background:#fff}
a.btn.danger,button.danger{background:var(--bad);border-color:var(--bad);color:#fff}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:.5rem 0}
dl.facts dt{color:var(--muted);font-weight:600}
dl.facts dd{margin:0;word-break:break-word}
ol.timeline{list-style:none;padding:0;margin:.5rem 0;display:flex;flex-wrap:wrap;gap:.4rem}
ol.timeline li{padding:.25rem .6rem;border:1px solid var(--line);border-radius:4px;background:var(--panel);font-size:.88rem}
ol.timeline li.current{border-color:var(--accent);background:#e7f0fa;font-weight:600}
pre.log{background:#0d1117;color:#e6edf3;padding:.75rem;border-radius:6px;overflow:auto;max-height:22rem;font-size:.85rem;white-space:pre-wrap}
.notice{padding:.6rem .8rem;border-left:4px solid var(--warn);background:#fff8e6;margin:.6rem 0}
.error{padding:.6rem .8rem;border-left:4px solid var(--bad);background:#fdecea;margin:.6rem 0;word-break:break-word}
.media{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:1rem}
.media figure{margin:0;padding:.6rem;border:1px solid var(--line);border-radius:6px}
.media video{width:100%;background:#000;border-radius:4px}
.media audio{width:100%}
.actions{display:flex;gap:.6rem;flex-wrap:wrap;margin:.6rem 0}
.counts{display:grid;grid-template-columns:6rem 3rem 1fr;gap:.35rem .8rem;align-items:center;max-width:34rem}
.counts .n{text-align:right;font-variant-numeric:tabular-nums}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
@media (max-width:760px){
  main{padding:.75rem}
  table.runs thead{display:none}
  table.runs tr{display:block;border:1px solid var(--line);border-radius:6px;margin-bottom:.75rem;padding:.4rem}
  table.runs td{display:grid;grid-template-columns:7.5rem 1fr;border:0;padding:.2rem .3rem}
  table.runs td::before{content:attr(data-label);color:var(--muted);font-weight:600;font-size:.85rem}
  table.runs td>.badge{justify-self:start}
  progress{width:7rem}
}
`;

/**
 * Re-fetch the live region from this server every 2 s (paused while the tab is hidden) and swap it in when
 * it changed. A region marked data-final stops; a run that just closed reloads once to show its outputs.
 */
export const SCRIPT = `
(function(){
  var live=document.getElementById('live');
  if(!live||!live.dataset.src)return;
  var wasFinal=live.dataset.final==='1';
  if(wasFinal)return;
  var busy=false;
  function tick(){
    if(busy||document.hidden)return;
    busy=true;
    fetch(live.dataset.src,{headers:{'accept':'text/html'},credentials:'same-origin'}).then(function(r){
      if(!r.ok)throw new Error('HTTP '+r.status);return r.text();
    }).then(function(t){
      var holder=document.createElement('div');holder.innerHTML=t;
      var next=holder.firstElementChild;
      if(!next)return;
      if(next.innerHTML!==live.innerHTML)live.innerHTML=next.innerHTML;
      live.removeAttribute('aria-busy');
      var note=document.getElementById('live-error');if(note)note.textContent='';
      if(next.dataset.final==='1'){clearInterval(timer);if(next.dataset.reload==='1')location.reload();}
    }).catch(function(e){
      var note=document.getElementById('live-error');if(note)note.textContent='Live updates paused: '+e.message+' (retrying)';
    }).finally(function(){busy=false;});
  }
  var timer=setInterval(tick,2000);
})();
(function(){
  document.querySelectorAll('form[data-confirm]').forEach(function(f){
    f.addEventListener('submit',function(ev){if(!window.confirm(f.dataset.confirm))ev.preventDefault();});
  });
})();
`;

export type NavSection = 'runs' | 'batches' | 'none';

export function page(opts: { title: string; nav: NavSection; body: Html; status?: number }): string {
  const link = (href: string, label: string, section: NavSection) =>
    html`<a href="${href}"${opts.nav === section ? new Html(' aria-current="page"') : ''}>${label}</a>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(opts.title)} · Reelay</title><link rel="stylesheet" href="/assets/app.css"></head>
<body><header class="top"><span class="brand">Reelay</span><nav aria-label="Main">${link('/', 'Runs', 'runs')} ${link('/?pipeline=batchPipeline', 'Batches', 'batches')}</nav></header>
<main id="content">${opts.body.text}
<p id="live-error" class="muted" role="status"></p></main>
<script src="/assets/app.js" defer></script></body></html>`;
}

/** A whole page for an error: a title, one clear sentence, a way back. Never a stack trace. */
export function errorPage(status: number, title: string, message: string): string {
  return page({
    title,
    nav: 'none',
    body: html`<h1>${title}</h1><p class="error" role="alert">${message}</p><p><a href="/">Back to the runs</a></p><p class="muted">HTTP ${status}</p>`,
  });
}
