import { nextToGrant, pruneCallerTurns, temporalPriority } from '../../src/contract/slot-order';
import type { SlotClaim } from '../../src/contract/limiter';

/** Grants every request in `waiting` one by one, as the limiter does, and returns the order (indexes into `waiting`). */
function grantOrder(waiting: SlotClaim[]): number[] {
  const left = waiting.map((claim, i) => ({ ...claim, i }));
  let turns: Record<string, number> = {};
  const order: number[] = [];
  for (let n = 1; left.length; n++) {
    const [next] = left.splice(nextToGrant(left, turns), 1);
    order.push(next!.i);
    turns = pruneCallerTurns({ ...turns, [next!.caller ?? '']: n }, left);
  }
  return order;
}

describe('the order job slots are granted in', () => {
  it('is first come, first served when nobody sets a priority or caller (the order before priorities)', () => {
    expect(grantOrder([{}, {}, {}, {}])).toEqual([0, 1, 2, 3]);
  });

  it('serves the highest priority (lowest number) first, absent counting as 3', () => {
    expect(grantOrder([{ priority: 5 }, {}, { priority: 1 }, { priority: 4 }, { priority: 2 }])).toEqual([2, 4, 1, 3, 0]);
  });

  it('alternates callers within a priority, each caller in its own arrival order', () => {
    const a = { caller: 'a' };
    const b = { caller: 'b' };
    const c = { caller: 'c' };
    expect(grantOrder([a, a, a, b, b, c])).toEqual([0, 3, 5, 1, 4, 2]);
  });

  it('lets a caller that was served recently wait behind one that was not', () => {
    // b was served at grant 7, a at grant 3: a goes next although b's request came first.
    expect(nextToGrant([{ caller: 'b' }, { caller: 'a' }], { a: 3, b: 7 })).toBe(1);
    expect(nextToGrant([], {})).toBe(-1);
  });

  it('keeps turns only for callers still waiting', () => {
    expect(pruneCallerTurns({ a: 1, b: 2, '': 3 }, [{ caller: 'b' }, {}])).toEqual({ b: 2, '': 3 });
  });

  it('hands priority and caller to Temporal as priorityKey and fairnessKey, and nothing when neither is set', () => {
    expect(temporalPriority({})).toEqual({});
    expect(temporalPriority({ priority: 1, caller: 'team-a' })).toEqual({ priority: { priorityKey: 1, fairnessKey: 'team-a' } });
    expect(temporalPriority({ caller: 'x' })).toEqual({ priority: { fairnessKey: 'x' } });
  });
});
