import type { SandboxConfig } from './config';
import type { ProviderFaultHooks } from './faults';
import type { ErrorFormatter, Router } from './http';
import type { ObjectStore } from './store';

/** What every simulated provider gets from the sandbox. */
export interface ProviderDeps {
  store: ObjectStore;
  /** The live config object; read it at the moment a decision is made, never cache it. */
  config: SandboxConfig;
  apiKey: string;
  /** Registers background work (output production) so close() can wait for it. */
  track<T>(work: Promise<T>): Promise<T>;
  /** Fault injection (jobs doomed to fail) and the ledger of billable creates. */
  faults: ProviderFaultHooks;
  /** The provider's clock (ms since the epoch): the real one plus the sandbox's `clockOffsetMs` for it. */
  now(): number;
}

/** A job still running at a simulated provider: what a run would be billed for if it finishes. */
export interface RunningJob {
  provider: 'lipdub' | 'dublab' | 'text2video' | 'vividflow' | 'aistudio';
  kind: 'job' | 'shot' | 'generation' | 'dub';
  id: string;
  /** The provider's own status value (`queued`, `RUNNING`, `training`, `2`, …). */
  status: string;
  /** What ties it to a run, as the ledger keys it: prompt, text, scene name, output_filename, project name. */
  key: string;
}

export interface ProviderService {
  router: Router;
  formatError: ErrorFormatter;
  /** Jobs still running now (statuses advanced to this moment). */
  running(): RunningJob[];
}
