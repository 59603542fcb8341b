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
}

export interface ProviderService {
  router: Router;
  formatError: ErrorFormatter;
}
