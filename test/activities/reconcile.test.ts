import { createdAtMs, reconcileFromList, text2videoWindow } from '../../src/activities/reconcile';

const T0 = Date.parse('2026-11-22T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('createdAtMs', () => {
  it('reads a zoneless ISO time as UTC, a zoned one as given, and numbers as Unix seconds', () => {
    expect(createdAtMs('2026-11-22T10:00:00')).toBe(T0);
    expect(createdAtMs('2026-11-22T11:00:00+01:00')).toBe(T0);
    expect(createdAtMs('2026-11-22T10:00:00.000Z')).toBe(T0);
    expect(createdAtMs(T0 / 1000)).toBe(T0);
  });
  it('gives undefined for what it cannot read', () => {
    expect(createdAtMs(undefined)).toBeUndefined();
    expect(createdAtMs('yesterday')).toBeUndefined();
    expect(createdAtMs(Number.NaN)).toBeUndefined();
  });
});

describe('reconcileFromList', () => {
  const job = (id: string, prompt: string, at: number | undefined) => ({ id, prompt, createdAt: at === undefined ? undefined : iso(at) });
  const run = (jobs: ReturnType<typeof job>[], pageFull = false) =>
    reconcileFromList({ jobs, matches: (j) => j.prompt === 'sunset', sinceMs: T0, pageFull, describe: 'job' });

  it('finds the one matching job created since the call was sent', () => {
    const r = run([job('new-other', 'sea', T0 + 5000), job('mine', 'sunset', T0 + 1000), job('old', 'sunset', T0 - 1000)]);
    expect(r).toEqual({ kind: 'found', value: expect.objectContaining({ id: 'mine' }), detail: 'job mine' });
  });

  it('ignores a matching job older than the call', () => {
    expect(run([job('old', 'sunset', T0 - 1)])).toEqual({ kind: 'absent' });
  });

  it('is unsure with two candidates, and names them', () => {
    const r = run([job('a', 'sunset', T0 + 2), job('b', 'sunset', T0 + 1)]);
    expect(r.kind).toBe('unsure');
    expect(r.kind === 'unsure' && r.why).toMatch(/2 jobs match it \(a, b\)/);
  });

  it('counts a job without a creation time as a candidate', () => {
    expect(run([job('undated', 'sunset', undefined)]).kind).toBe('found');
  });

  it('is unsure when a full page does not reach back to the call', () => {
    expect(run([job('x', 'sea', T0 + 10)], true).kind).toBe('unsure');
    // The page reaches back before the call: what it does not show is older, so absence is proven.
    expect(run([job('x', 'sea', T0 + 10), job('y', 'sea', T0 - 10)], true)).toEqual({ kind: 'absent' });
  });
});

describe('text2videoWindow', () => {
  const j = (id: string, at: number) => ({ id, createdAt: at / 1000 });
  it('is absent only when no job was created since the call', () => {
    expect(text2videoWindow([j('old', T0 - 5000)], T0)).toEqual({ kind: 'absent' });
    const r = text2videoWindow([j('new', T0 + 3000), j('old', T0 - 5000)], T0);
    expect(r.kind === 'unsure' && r.why).toMatch(/1 job\(s\) were created.*\(new\)/);
  });
  it('widens the window by the second created_at rounds away', () => {
    expect(text2videoWindow([j('rounded-down', T0 - 400)], T0).kind).toBe('unsure');
  });
});
