/**
 * The limiter at scale (scripts/bench/limiter.ts): pipelines that only hold a job slot. Each asks the real
 * limiter workflow for a slot through the same helper the pipelines use (withProviderSlot), holds it for
 * `holdMs` or until told to let go (a durable wait, standing in for a provider job) and gives it back. Bundled with the limiter
 * by the benchmark only; never registered by a Reelay worker.
 */
import { condition, defineSignal, setHandler } from '@temporalio/workflow';
import { withProviderSlot } from '../../../src/workflows/shared/slots';
import { definedClaim } from '../../../src/contract/slot-order';

export { providerLimiterWorkflow } from '../../../src/workflows/limiter';

/** Gives the slot back now (a holder waits for it, for at most `holdMs`). */
export const letGoSignal = defineSignal('letGo');

export interface SlotHolderInput {
  provider: string;
  /** How long the slot is held, at most: `letGo` ends the hold sooner. */
  holdMs: number;
  priority?: number;
  caller?: string;
}

/** Workflow times (ms since the epoch) of one holder: when it asked, got the slot, and gave it back. */
export interface SlotHolderTimes {
  askedAt: number;
  grantedAt: number;
  releasedAt: number;
}

export async function slotHolderBench(input: SlotHolderInput): Promise<SlotHolderTimes> {
  const askedAt = Date.now();
  let grantedAt = 0;
  let letGo = false;
  setHandler(letGoSignal, () => {
    letGo = true;
  });
  await withProviderSlot(
    input.provider,
    () => undefined,
    async () => {
      grantedAt = Date.now();
      await condition(() => letGo, input.holdMs);
    },
    undefined,
    definedClaim(input),
  );
  return { askedAt, grantedAt, releasedAt: Date.now() };
}
