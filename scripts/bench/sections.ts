import { transfersSection } from './transfers';
import type { BenchSection } from './types';

/** The sections, in the order they run and print. Each module measures one thing next to its reference. */
export const SECTIONS: BenchSection[] = [transfersSection];
