import type { SandboxConfig } from './config';
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
}

export interface ProviderService {
  router: Router;
  formatError: ErrorFormatter;
}
