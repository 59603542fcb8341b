import { history } from './history';
import { overhead } from './overhead';
import { pollingSection } from './polling';
import type { BenchSection } from './types';

/** The sections, in the order they run and print. Each module measures one thing next to its reference. */
export const SECTIONS: BenchSection[] = [overhead, pollingSection, history];
