import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowBundleOptions } from '../../src/codec';

let encrypting: Promise<string> | undefined;

/**
 * The workflow bundle an encrypting worker needs: global setup's bundle plus the encrypting failure
 * converter (failures raised in workflow code are converted inside the bundle). Built once per test
 * process, on first use, and removed when the process exits.
 */
export function encryptingWorkflowBundle(): Promise<string> {
  return (encrypting ??= (async () => {
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../../src/workflows'),
      ...workflowBundleOptions({ REELAY_PAYLOAD_KEY: Buffer.alloc(32).toString('base64') }),
      logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } as never,
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reelay-test-bundle-enc-'));
    const codePath = path.join(dir, 'workflows.js');
    fs.writeFileSync(codePath, code);
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    return codePath;
  })());
}
