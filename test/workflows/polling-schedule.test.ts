import { AISTUDIO_JOB_DURATION } from '../../src/pipelines/aistudio/spec';
import { LIPDUB_SHOT_DURATION } from '../../src/pipelines/lipdub/spec';
import { parseEstimatedWait } from '../../src/pipelines/vividflow/schemas';
import type { PollingConfig } from '../../src/contract/common';
import {
  LAG_FRACTION,
  PROGRESS_WAIT_SHARE,
  backoffSeconds,
  nextPollDelay,
  progressFinishMs,
  scaleExpected,
  type ExpectedDuration,
  type PollHint,
  type ProgressSample,
} from '../../src/contract/poll-schedule';

/** Pure: the scheduler in simulated time, no Temporal. */

const MIN = 60_000;
const config: PollingConfig = { initialIntervalSeconds: 10, maxIntervalSeconds: 120, backoffCoefficient: 1.5, deadlineMinutes: 360, hints: true, timeScale: 1 };
const shot: ExpectedDuration = { minMs: 5 * MIN, maxMs: 30 * MIN, source: 'test' };

/** Poll a job that ends at `endMs` (a call exactly then still sees it running); calls made and the lag. */
function run(endMs: number, cfg: PollingConfig, hintAt: (t: number, progress: ProgressSample[]) => PollHint | undefined) {
  const progress: ProgressSample[] = [];
  let t = 0;
  for (let attempt = 0; ; attempt++) {
    if (t > endMs) return { calls: attempt + 1, lagMs: t - endMs };
    t += nextPollDelay({ elapsedMs: t, attempt, config: cfg, hint: hintAt(t, progress) });
  }
}

describe('nextPollDelay without a hint', () => {
  it('is the configured backoff, as before hints', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      expect(nextPollDelay({ elapsedMs: attempt * 1000, attempt, config })).toBe(backoffSeconds(config, attempt) * 1000);
      expect(nextPollDelay({ elapsedMs: attempt * 1000, attempt, config, hint: { progress: [] } })).toBe(backoffSeconds(config, attempt) * 1000);
    }
    expect(backoffSeconds(config, 0)).toBe(10);
    expect(backoffSeconds(config, 20)).toBe(120);
  });

  it('ignores every hint when hints are off', () => {
    const off = { ...config, hints: false };
    const hint: PollHint = { expected: shot, progress: [{ elapsedMs: 60_000, fraction: 0.5 }] };
    expect(nextPollDelay({ elapsedMs: 0, attempt: 0, config: off, hint })).toBe(10_000);
    expect(nextPollDelay({ elapsedMs: 400_000, attempt: 3, config: off, hint })).toBe(backoffSeconds(off, 3) * 1000);
  });
});

describe('nextPollDelay with an expected duration', () => {
  it('waits towards the earliest end in steps of at most maxIntervalSeconds', () => {
    expect(nextPollDelay({ elapsedMs: 0, attempt: 0, config, hint: { expected: shot } })).toBe(120_000);
    expect(nextPollDelay({ elapsedMs: 240_000, attempt: 2, config, hint: { expected: shot } })).toBe(60_000);
    expect(nextPollDelay({ elapsedMs: 0, attempt: 0, config: { ...config, maxIntervalSeconds: 600 }, hint: { expected: shot } })).toBe(300_000);
  });

  it('then waits LAG_FRACTION of the time waited, within the floor and the cap', () => {
    expect(nextPollDelay({ elapsedMs: 10 * MIN, attempt: 5, config, hint: { expected: shot } })).toBeCloseTo(LAG_FRACTION * 10 * MIN);
    // Early on the floor holds (10 s); late the cap does (2 min).
    expect(nextPollDelay({ elapsedMs: 60_000, attempt: 1, config, hint: { expected: { ...shot, minMs: 30_000 } } })).toBe(10_000);
    expect(nextPollDelay({ elapsedMs: 120 * MIN, attempt: 40, config, hint: { expected: shot } })).toBe(120_000);
  });

  it('notices any end after the earliest one at most LAG_FRACTION of the job late, until the cap binds', () => {
    const cap = { ...config, maxIntervalSeconds: 3600 };
    for (let endMs = shot.minMs; endMs <= 4 * shot.maxMs; endMs += 7_919) {
      const { lagMs } = run(endMs, cap, () => ({ expected: shot }));
      expect(lagMs).toBeLessThanOrEqual(LAG_FRACTION * endMs + 1);
    }
  });

  it('costs a LipDub shot of 5 and of 30 min ≥ 10× fewer calls than a fixed 5 s loop, with lag ≤ 10 %', () => {
    const fixed = { ...config, initialIntervalSeconds: 5, maxIntervalSeconds: 5, backoffCoefficient: 1, hints: false };
    for (const minutes of [5, 30]) {
      const mine = run(minutes * MIN, config, () => ({ expected: LIPDUB_SHOT_DURATION }));
      const loop = run(minutes * MIN, fixed, () => undefined);
      expect(mine.calls * 10).toBeLessThanOrEqual(loop.calls);
      expect(mine.lagMs).toBeLessThanOrEqual(0.1 * minutes * MIN);
    }
  });

  it('a job shorter than documented is noticed late, at the first call past it', () => {
    // 1 min against "5–30 min": the second call, at 2 min.
    expect(run(1 * MIN, config, () => ({ expected: shot }))).toEqual({ calls: 2, lagMs: 1 * MIN });
  });
});

describe('nextPollDelay with progress readings', () => {
  it('extrapolates the end from one reading (counting from the start) and waits PROGRESS_WAIT_SHARE of what is left', () => {
    const progress = [{ elapsedMs: 60_000, fraction: 0.2 }];
    expect(progressFinishMs(progress)).toBeCloseTo(300_000);
    const big = { ...config, maxIntervalSeconds: 3600 };
    expect(nextPollDelay({ elapsedMs: 60_000, attempt: 1, config: big, hint: { progress } })).toBeCloseTo(PROGRESS_WAIT_SHARE * 240_000);
    expect(nextPollDelay({ elapsedMs: 60_000, attempt: 1, config, hint: { progress } })).toBe(120_000);
  });

  it('takes the rate between readings, so a queue before the first one does not skew it', () => {
    // Queued for 10 min, then 10 %/min.
    const progress = [
      { elapsedMs: 11 * MIN, fraction: 0.1 },
      { elapsedMs: 13 * MIN, fraction: 0.3 },
    ];
    expect(progressFinishMs(progress)).toBeCloseTo(20 * MIN);
  });

  it('dates a stepwise level from the first reading that showed it', () => {
    const progress = [
      { elapsedMs: 60_000, fraction: 0.2 },
      { elapsedMs: 120_000, fraction: 0.4 },
      { elapsedMs: 150_000, fraction: 0.4 },
    ];
    // 20 % a minute from the first 40 %: done at 2 + 3 = 5 min.
    expect(progressFinishMs(progress)).toBeCloseTo(5 * MIN);
  });

  it('takes over from the expected duration, and polls densely once the extrapolated end has passed', () => {
    const big = { ...config, maxIntervalSeconds: 3600 };
    const hint: PollHint = { expected: shot, progress: [{ elapsedMs: 30_000, fraction: 0.5 }] };
    // The documented 5 min minimum is no longer the guide: the job says it is half done after 30 s.
    expect(nextPollDelay({ elapsedMs: 30_000, attempt: 1, config: big, hint })).toBeCloseTo(PROGRESS_WAIT_SHARE * 30_000);
    // At 2 min the extrapolated end (1 min) is past: every LAG_FRACTION of the time waited.
    expect(nextPollDelay({ elapsedMs: 120_000, attempt: 5, config: big, hint })).toBeCloseTo(Math.max(10_000, LAG_FRACTION * 120_000));
  });

  it('ignores readings of 0 and 1 and readings at the start', () => {
    expect(progressFinishMs([{ elapsedMs: 0, fraction: 0.5 }, { elapsedMs: 10_000, fraction: 0 }, { elapsedMs: 20_000, fraction: 1 }])).toBeUndefined();
  });

  it('notices the end of an AI Studio-like job (10 % jump, linear to 90 %, then 100 %) promptly', () => {
    for (const minutes of [5, 30]) {
      const endMs = minutes * MIN;
      const { calls, lagMs } = run(endMs, config, (t, progress) => {
        const pending = 0.1 * endMs;
        if (t >= pending) progress.push({ elapsedMs: t, fraction: (10 + Math.floor((80 * (t - pending)) / (0.9 * endMs))) / 100 });
        return { expected: AISTUDIO_JOB_DURATION, progress };
      });
      expect(lagMs).toBeLessThanOrEqual(0.1 * endMs);
      expect(calls * 10).toBeLessThanOrEqual(endMs / 5000 + 1);
    }
  });
});

describe('scaleExpected', () => {
  it('divides durations by the time scale of a compressed sandbox', () => {
    expect(scaleExpected(shot, 100)).toEqual({ minMs: 3000, maxMs: 18_000, source: 'test' });
    expect(scaleExpected(shot, 1)).toBe(shot);
    expect(scaleExpected(undefined, 100)).toBeUndefined();
  });
});

describe('parseEstimatedWait (Vivid Flow estimated_wait_time)', () => {
  it.each([
    ['~2-5 minutes', { minSeconds: 120, maxSeconds: 300 }],
    ['2–5 minutes', { minSeconds: 120, maxSeconds: 300 }],
    ['about 3 min', { minSeconds: 180, maxSeconds: 180 }],
    ['30 seconds', { minSeconds: 30, maxSeconds: 30 }],
    ['1 to 2 hours', { minSeconds: 3600, maxSeconds: 7200 }],
    ['~1.5-2 mins', { minSeconds: 90, maxSeconds: 120 }],
  ])('reads %j', (text, expected) => {
    expect(parseEstimatedWait(text)).toEqual(expected);
  });

  it.each([undefined, '', 'soon', '5-2 minutes', '0 minutes'])('gives no hint for %j', (text) => {
    expect(parseEstimatedWait(text)).toBeUndefined();
  });
});
