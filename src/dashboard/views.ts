import path from 'node:path';
import type { OutputFile } from '../cli/pipelines';
import { LIST_PROVIDERS, LIST_STATUSES } from '../cli/commands/list';
import { WORKFLOW_TYPES } from '../pipelines/registry';
import { BATCH_TYPE, type BatchView, type ListFilters, type RunRow, type RunView } from './data';
import { Html, age, bar, html, statusBadge, time } from './html';

/** The pages, as HTML: each live page renders its live region on its own too (`?fragment=1`), for the script. */

const enc = encodeURIComponent;
export const DEFAULT_LIST_LIMIT = 50;
export const runHref = (r: { workflowId: string; type?: string }) => (r.type === BATCH_TYPE ? `/batches/${enc(r.workflowId)}` : `/runs/${enc(r.workflowId)}`);

function filterQuery(f: Partial<ListFilters>): string {
  const q = new URLSearchParams();
  if (f.pipeline) q.set('pipeline', f.pipeline);
  if (f.status) q.set('status', f.status);
  if (f.provider) q.set('provider', f.provider);
  if (f.jobId) q.set('jobId', f.jobId);
  if (f.taskQueue) q.set('queue', f.taskQueue);
  if (f.limit && f.limit !== DEFAULT_LIST_LIMIT) q.set('limit', String(f.limit));
  return q.toString();
}

function select(name: string, label: string, options: readonly string[], selected: string | undefined, any: string): Html {
  return html`<label for="f-${name}">${label}<select id="f-${name}" name="${name}"><option value="">${any}</option>${options.map(
    (o) => html`<option value="${o}"${o === selected ? new Html(' selected') : ''}>${o}</option>`,
  )}</select></label>`;
}

export function runsTable(rows: RunRow[], now = Date.now(), f?: ListFilters): Html {
  const live = f ? `/?${filterQuery(f)}${filterQuery(f) ? '&' : ''}fragment=1` : '';
  if (!rows.length) return html`<div id="live" data-src="${live}"><p>No Reelay runs match.</p></div>`;
  return html`<div id="live" data-src="${live}">
<table class="runs"><caption class="sr-only">Reelay runs, newest first</caption>
<thead><tr><th scope="col">Workflow</th><th scope="col">Pipeline</th><th scope="col">Summary</th><th scope="col">Stage</th><th scope="col">Progress</th><th scope="col">Provider job ids</th><th scope="col">Age</th><th scope="col">Status</th></tr></thead>
<tbody>${rows.map((r) => {
    const p = r.progress;
    const b = r.batch;
    const stage = b ? `${b.status}: ${b.done + b.failed + b.cancelled} of ${b.total}` : (p?.stage ?? r.stage);
    const percent = r.status === 'COMPLETED' ? 100 : b ? (b.total ? ((b.done + b.failed + b.cancelled) / b.total) * 100 : 100) : p?.percent;
    const answered = p ?? b;
    const ids = p ? Object.values(p.providerIds) : (r.jobIds ?? []);
    return html`<tr data-workflow-id="${r.workflowId}">
<td class="id" data-label="Workflow"><a href="${runHref(r)}">${r.workflowId}</a></td>
<td data-label="Pipeline">${r.type}</td>
<td data-label="Summary">${r.summary ?? html`<span class="muted">—</span>`}</td>
<td data-label="Stage">${stage ?? html`<span class="muted">—</span>`}${r.status === 'RUNNING' && !answered && stage ? html` <span class="muted" title="No worker answered the progress query in time: the stage is the server's ReelayStage">(server)</span>` : ''}</td>
<td data-label="Progress">${bar(percent, `Progress of ${r.workflowId}`)}</td>
<td data-label="Provider job ids">${ids.length ? ids.join(', ') : html`<span class="muted">—</span>`}</td>
<td data-label="Age">${age(r.startTime, now)}</td>
<td data-label="Status">${statusBadge(r.status)}</td></tr>`;
  })}</tbody></table></div>`;
}

export function runsPage(rows: RunRow[], f: ListFilters): Html {
  const types = (WORKFLOW_TYPES as readonly string[]).slice();
  return html`<h1>${f.pipeline === BATCH_TYPE ? 'Batches' : 'Runs'}</h1>
<form class="filters" method="get" action="/" role="search" aria-label="Filter runs">
${select('pipeline', 'Pipeline', types, f.pipeline, 'All pipelines')}
${select('status', 'Status', LIST_STATUSES, f.status, 'Any status')}
${select('provider', 'Provider', LIST_PROVIDERS, f.provider, 'Any provider')}
<label for="f-jobId">Provider job id<input id="f-jobId" name="jobId" value="${f.jobId ?? ''}" placeholder="e.g. 746176" autocomplete="off"></label>
${f.taskQueue ? html`<input type="hidden" name="queue" value="${f.taskQueue}">` : ''}<button type="submit">Filter</button>${filterQuery(f) ? html` <a href="/">Clear</a>` : ''}
</form>
${runsTable(rows, Date.now(), f)}`;
}

type Kind = 'video' | 'audio' | 'subtitles' | 'file';

export function outputKind(o: Pick<OutputFile, 'path' | 'label'>): Kind {
  const ext = path.extname(o.path.split('?')[0]!).toLowerCase();
  if (['.vtt', '.srt'].includes(ext) || /subtitle/i.test(o.label)) return 'subtitles';
  if (['.mp4', '.webm', '.mov', '.m4v', '.ogv'].includes(ext)) return 'video';
  if (['.mp3', '.m4a', '.wav', '.aac', '.ogg', '.oga', '.opus', '.flac'].includes(ext)) return 'audio';
  return 'file';
}

/** The language an output's label starts with (`es-MX translated_mp4` → `es-MX`), when it looks like one. */
function labelLanguage(label: string): string | undefined {
  const first = label.split(/\s+/)[0] ?? '';
  return /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(first) ? first : undefined;
}

function outputsSection(workflowId: string, outputs: OutputFile[]): Html {
  if (!outputs.length) return html``;
  const href = (i: number, vtt = false) => `/runs/${enc(workflowId)}/outputs/${i}${vtt ? '?as=vtt' : ''}`;
  const indexed = outputs.map((o, i) => ({ o, i, kind: outputKind(o), lang: labelLanguage(o.label) }));
  const videos = indexed.filter((x) => x.kind === 'video');
  const subs = indexed.filter((x) => x.kind === 'subtitles');
  const tracksFor = (lang: string | undefined) =>
    subs
      .filter((s) => videos.length === 1 || !lang || !s.lang || s.lang === lang)
      .map((s, n) => html`<track kind="subtitles" src="${href(s.i, true)}" srclang="${s.lang ?? 'und'}" label="${s.o.label}"${n === 0 ? new Html(' default') : ''}>`);
  const players = indexed
    .filter((x) => x.kind === 'video' || x.kind === 'audio')
    .map(({ o, i, kind, lang }) => {
      const id = `media-${i}`;
      const player =
        kind === 'video'
          ? html`<video id="${id}" controls preload="metadata" src="${href(i)}" aria-labelledby="${id}-cap">${tracksFor(lang)}</video>`
          : html`<audio id="${id}" controls preload="metadata" src="${href(i)}" aria-labelledby="${id}-cap"></audio>`;
      return html`<figure>${player}<figcaption id="${id}-cap">${o.label} · ${formatBytes(o.bytes)} · <a href="${href(i)}" download>download</a></figcaption></figure>`;
    });
  return html`<section aria-labelledby="outputs-h"><h2 id="outputs-h">Outputs</h2>
${players.length ? html`<div class="media">${players}</div>` : ''}
<table><caption class="sr-only">Delivered files</caption><thead><tr><th scope="col">Output</th><th scope="col">Where</th><th scope="col">Size</th><th scope="col">sha256</th></tr></thead>
<tbody>${indexed.map(({ o, i }) => html`<tr><td><a href="${href(i)}">${o.label}</a></td><td class="id">${o.path}</td><td>${formatBytes(o.bytes)}</td><td class="id muted">${o.sha256.slice(0, 16)}…</td></tr>`)}</tbody></table>
</section>`;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function runLive(workflowId: string, v: RunView, wasRunning: boolean): Html {
  const r = v.report;
  const p = r.progress;
  const running = r.status === 'RUNNING';
  const percent = r.status === 'COMPLETED' ? 100 : p?.percent;
  const stage = p?.stage ?? r.fromServer?.stage;
  const ids = p ? Object.entries(p.providerIds).map(([k, x]) => `${k}=${x}`) : (r.fromServer?.jobIds ?? []);
  return html`<div id="live" data-src="/runs/${enc(workflowId)}?fragment=1${wasRunning ? '&was=running' : ''}" data-final="${running ? '0' : '1'}" data-reload="${wasRunning && !running ? '1' : '0'}">
<p>${statusBadge(r.status)} <span class="wide">${bar(percent, 'Progress')}</span></p>
<dl class="facts">
<dt>Stage</dt><dd>${stage ?? '—'}${!p && r.fromServer?.stage ? html` <span class="muted">(from the server)</span>` : ''}</dd>
<dt>Provider job ids</dt><dd>${ids.length ? ids.join(', ') : '—'}</dd>
${p?.updatedAt ? html`<dt>Updated</dt><dd>${time(p.updatedAt)}</dd>` : ''}
</dl>
${!p && running ? html`<p class="notice" role="status">No worker answered the progress query within 3 s (is a worker running on task queue ${r.taskQueue}?). The stage and job ids above are what the Temporal server holds.</p>` : ''}
${v.timeline.length ? html`<h2>Stages</h2><ol class="timeline" aria-label="Stage timeline">${v.timeline.map((s, i) => html`<li${i === v.timeline.length - 1 && running ? new Html(' class="current" aria-current="step"') : ''}>${s.stage} <span class="muted">${time(s.at)}</span></li>`)}</ol>` : ''}
${(r.retrying ?? []).map((a) => html`<p class="notice">Retrying ${a.activity} (attempt ${a.attempt}): ${a.lastFailure}</p>`)}
<h2>Provider log</h2>
${p?.log.length ? html`<pre class="log" tabindex="0" aria-label="Provider log">${p.log.map((l) => `${l.at.slice(11, 19)}  ${l.message}\n`).join('')}</pre>` : html`<p class="muted">No log lines${p ? ' yet' : ' (progress not available)'}.</p>`}
${r.failure ? html`<h2>Failure</h2><p class="error">${r.failureType ? html`<strong>${r.failureType}</strong>: ` : ''}${r.failure}</p>` : ''}
${r.rerunInput !== undefined ? html`<h3>Re-run input (only what failed)</h3><pre class="log" tabindex="0">${JSON.stringify(r.rerunInput, null, 2)}</pre>` : ''}
${r.leftAtProvider ? html`<p><strong>Left at the provider:</strong> ${r.leftAtProvider.length ? r.leftAtProvider.join('; ') : 'nothing'}</p>` : ''}
${r.unreadable ? html`<p class="notice">${r.unreadable}</p>` : ''}
</div>`;
}

export function runPage(workflowId: string, v: RunView): Html {
  const r = v.report;
  return html`<p><a href="/">← Runs</a></p>
<h1>${workflowId}</h1>
${r.summary ? html`<p class="summary"><strong>${r.summary}</strong></p>` : html`<p class="muted">${r.unreadable ? 'Summary encrypted: this dashboard has no key for it.' : 'No summary (started by a client that set none).'}</p>`}
<dl class="facts">
<dt>Pipeline</dt><dd>${r.type}</dd>
<dt>Provider</dt><dd>${r.provider ?? '—'}</dd>
<dt>Task queue</dt><dd>${r.taskQueue}</dd>
<dt>Started</dt><dd>${time(r.startTime)} (${age(r.startTime)} ago)</dd>
${r.closeTime ? html`<dt>Closed</dt><dd>${time(r.closeTime)}</dd>` : ''}
<dt>Temporal UI</dt><dd><a href="${r.uiUrl}" rel="noopener">event history of this run</a></dd>
</dl>
${runLive(workflowId, v, r.status === 'RUNNING')}
${outputsSection(workflowId, r.outputs ?? [])}`;
}

const STATES = ['done', 'failed', 'cancelled', 'running', 'queued'] as const;

export function batchLive(b: BatchView): Html {
  const p = b.progress;
  const running = b.status === 'RUNNING';
  const finished = p ? p.done + p.failed + p.cancelled : undefined;
  const status = running && p?.paused ? 'PAUSED' : b.status;
  const eta = p?.paused ? 'paused' : p?.etaSeconds === null || p?.etaSeconds === undefined ? '—' : age(new Date(Date.now() - p.etaSeconds * 1000).toISOString());
  return html`<div id="live" data-src="/batches/${enc(b.batchId)}?fragment=1" data-final="${running ? '0' : '1'}">
<p>${statusBadge(status)}${p?.status === 'cancelling' ? html` <span class="badge s-cancelled">Cancelling</span>` : ''} <span class="wide">${bar(p && p.total ? ((finished ?? 0) / p.total) * 100 : b.result ? 100 : undefined, 'Items finished')}</span></p>
${p
    ? html`<dl class="facts"><dt>Items</dt><dd>${finished} of ${p.total} finished</dd><dt>Rate</dt><dd>${p.ratePerMinute} per minute</dd><dt>ETA</dt><dd>${eta}</dd><dt>Run</dt><dd>${p.run}</dd></dl>
<h2>By state</h2>
<div class="counts">${STATES.map((s) => html`<span>${s}</span><span class="n" data-state="${s}">${p[s]}</span>${bar(p.total ? (p[s] / p.total) * 100 : 0, `Items ${s}`)}`)}</div>
${p.recentErrors.length ? html`<h2>Recent failures</h2><ul>${p.recentErrors.map((e) => html`<li>${e}</li>`)}</ul>` : ''}`
    : running
      ? html`<p class="notice" role="status">No worker answered the batchProgress query within 3 s.${b.fromServer?.stage ? ` The server's stage: ${b.fromServer.stage}.` : ''}</p>`
      : ''}
${b.result ? html`<h2>Result</h2><p>${b.result.succeeded} completed, ${b.result.failed} failed, ${b.result.cancelled} cancelled, ${b.result.notStarted} not started, in ${b.result.runs} run(s).</p>${b.result.failedLines.length ? html`<p>Failed lines: ${b.result.failedLines.slice(0, 50).join(', ')}</p>` : ''}` : ''}
${b.failure ? html`<p class="error">${b.failure}</p>` : ''}
</div>`;
}

export type BatchAction = 'pause' | 'resume' | 'cancel' | 'retry-failed';
export const BATCH_ACTIONS: readonly BatchAction[] = ['pause', 'resume', 'cancel', 'retry-failed'];
const ACTION_TEXT: Record<BatchAction, { label: string; confirm: string }> = {
  pause: { label: 'Pause', confirm: 'No new items start; running ones finish.' },
  resume: { label: 'Resume', confirm: 'Items start again, up to the window.' },
  cancel: { label: 'Cancel batch', confirm: 'No new items start and the running ones are cancelled. This cannot be undone.' },
  'retry-failed': { label: 'Retry failed', confirm: 'A new batch starts over the failed lines only.' },
};

export function availableActions(b: BatchView): BatchAction[] {
  if (b.status === 'RUNNING') return [b.progress?.paused ? 'resume' : 'pause', 'cancel'];
  if (b.result && b.result.failedLines.length) return ['retry-failed'];
  return [];
}

export function batchPage(b: BatchView, flash?: string): Html {
  const actions = availableActions(b);
  return html`<p><a href="/?pipeline=batchPipeline">← Batches</a></p>
<h1>${b.batchId}</h1>
${b.summary ? html`<p><strong>${b.summary}</strong></p>` : ''}
${flash ? html`<p class="notice" role="status">${flash}</p>` : ''}
<p class="muted">Started ${time(b.startTime)} (${age(b.startTime)} ago)${b.closeTime ? html`, closed ${time(b.closeTime)}` : ''}</p>
${actions.length ? html`<nav class="actions" aria-label="Batch actions">${actions.map((a) => html`<a class="btn${a === 'cancel' ? ' danger' : ''}" href="/batches/${enc(b.batchId)}/${a}">${ACTION_TEXT[a].label}</a>`)}</nav>` : ''}
${batchLive(b)}`;
}

export function confirmPage(batchId: string, action: BatchAction): Html {
  const t = ACTION_TEXT[action];
  return html`<p><a href="/batches/${enc(batchId)}">← ${batchId}</a></p>
<h1>${t.label}: ${batchId}?</h1>
<p>${t.confirm}</p>
<form method="post" action="/batches/${enc(batchId)}/${action}" class="actions">
<input type="hidden" name="confirm" value="yes">
<button type="submit" class="${action === 'cancel' ? 'danger' : ''}">${t.label}</button>
<a href="/batches/${enc(batchId)}">Keep it as it is</a>
</form>`;
}
