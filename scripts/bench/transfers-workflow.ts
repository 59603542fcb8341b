/**
 * The one workflow of the transfers benchmark (bundled on its own, not part of src/workflows): runs a
 * single upload or download activity with the timeouts a real transfer proxy uses.
 */
import { proxyActivities } from '@temporalio/workflow';
import { TRANSFER_CALL } from '../../src/workflows/activity-proxies';
import type { BenchTransferActivities, BenchTransferRequest, BenchTransferResult } from './transfers-worker';

// The pipelines' transfer options (heartbeat timeout included); one attempt, so a fault shows as a failure.
const { benchUpload, benchDownload } = proxyActivities<BenchTransferActivities>({ ...TRANSFER_CALL, retry: { maximumAttempts: 1 } });

export async function benchTransfer(req: BenchTransferRequest): Promise<BenchTransferResult> {
  return req.kind === 'upload' ? benchUpload(req) : benchDownload(req);
}
