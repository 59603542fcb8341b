import type { SlotClaim } from './limiter';

/** Temporal's task priority range, which Reelay's `priority` follows: 1 is the highest, 5 the lowest. */
export const PRIORITY_HIGHEST = 1;
export const PRIORITY_LOWEST = 5;
/** A request without a priority ranks in the middle, as Temporal's default does. */
export const PRIORITY_DEFAULT = 3;
/** Temporal limits a fairness key to 64 bytes. */
export const CALLER_MAX_BYTES = 64;

/** The caller a request counts under: requests without one share a single turn. */
export function callerKey(claim: SlotClaim): string {
  return claim.caller ?? '';
}

/**
 * Which waiting request gets the next free slot (its index, or -1 when none waits): the highest priority
 * first; within a priority, the caller whose last grant is the oldest (a caller never served goes first),
 * so callers take turns; within a caller, the request that came first. With every request at the
 * default priority and no callers this is first come, first served, the order before priorities.
 *
 * `callerTurns` holds, for each caller, the number of the grant it last received.
 */
export function nextToGrant(waiting: readonly SlotClaim[], callerTurns: Readonly<Record<string, number>>): number {
  let best = -1;
  let bestPriority = Infinity;
  let bestTurn = Infinity;
  for (let i = 0; i < waiting.length; i++) {
    const claim = waiting[i]!;
    const priority = claim.priority ?? PRIORITY_DEFAULT;
    const turn = callerTurns[callerKey(claim)] ?? -1;
    if (priority < bestPriority || (priority === bestPriority && turn < bestTurn)) {
      best = i;
      bestPriority = priority;
      bestTurn = turn;
    }
  }
  return best;
}

/** `callerTurns` without the callers that no longer wait: a caller that comes back later is served like a new one. */
export function pruneCallerTurns(callerTurns: Readonly<Record<string, number>>, waiting: readonly SlotClaim[]): Record<string, number> {
  const waitingCallers = new Set(waiting.map(callerKey));
  return Object.fromEntries(Object.entries(callerTurns).filter(([caller]) => waitingCallers.has(caller)));
}

/**
 * The start option that hands a claim to the Temporal server as task priority and fairness key (its
 * workflow, activity and child tasks inherit them), or nothing for a claim without either: a start
 * without them stays the start it was.
 */
export function temporalPriority({ priority, caller }: SlotClaim): { priority?: { priorityKey?: number; fairnessKey?: string } } {
  if (priority === undefined && caller === undefined) return {};
  return { priority: { ...(priority !== undefined ? { priorityKey: priority } : {}), ...(caller !== undefined ? { fairnessKey: caller } : {}) } };
}

/** Only the claim's fields that are set. */
export function definedClaim({ priority, caller }: SlotClaim): SlotClaim {
  return { ...(priority !== undefined ? { priority } : {}), ...(caller !== undefined ? { caller } : {}) };
}
