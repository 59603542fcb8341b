import { history } from './history';
import { lightSection } from './light';
import { limiterSection } from './limiter';
import { overhead } from './overhead';
import { pollingSection } from './polling';
import { pollCostSection } from './poll-cost';
import { storeSection } from './store';
import { throughputSection } from './throughput';
import { transfersSection } from './transfers';
import type { BenchSection } from './types';
import { waitingSection } from './waiting';

/** The sections, in the order they run and print. Each module measures one thing next to its reference. */
export const SECTIONS: BenchSection[] = [overhead, throughputSection, waitingSection, lightSection, pollingSection, pollCostSection, transfersSection, storeSection, history, limiterSection];
