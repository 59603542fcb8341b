import fs from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';

/**
 * The lint rules that keep workflows deterministic and layers pointing down (eslint.config.js) fail on
 * the imports they exist to refuse: each case lints a real file with one violating line added on top.
 */
const ROOT = path.resolve(__dirname, '../..');

const CASES: Array<{ rule: string; file: string; line: string; message: RegExp }> = [
  { rule: 'determinism: a pipeline workflow uses no Node API', file: 'src/pipelines/lipdub/workflow.ts', line: "import fs from 'node:fs'; void fs;", message: /Workflows must be deterministic/ },
  { rule: 'determinism: a pipeline workflow loads no provider client', file: 'src/pipelines/lipdub/workflow.ts', line: "import { LipdubClient } from './client'; void LipdubClient;", message: /Workflows import only/ },
  { rule: 'determinism: a pipeline workflow imports its activities as types only', file: 'src/pipelines/vividflow/workflow.ts', line: "import { createVividflowActivities } from './activities'; void createVividflowActivities;", message: /as types only/ },
  { rule: 'determinism: the machinery too', file: 'src/workflows/shared/polling.ts', line: "import { request } from 'undici'; void request;", message: /HTTP belongs in activities/ },
  { rule: 'provider clients: nothing of Temporal', file: 'src/pipelines/vividflow/client.ts', line: "import { ApplicationFailure } from '@temporalio/activity'; void ApplicationFailure;", message: /know nothing of Temporal/ },
  { rule: 'provider clients: no durable input schema', file: 'src/pipelines/aistudio/schemas.ts', line: "import { AistudioPipelineInput } from './input'; void AistudioPipelineInput;", message: /sit at the bottom/ },
  { rule: 'provider core: nothing above it', file: 'src/providers/http.ts', line: "import { REELAY_PROVIDER } from '../contract/search-attributes'; void REELAY_PROVIDER;", message: /sit at the bottom/ },
  { rule: 'activities: no workflow module', file: 'src/pipelines/vividflow/activities.ts', line: "import { vividflowPipeline } from './workflow'; void vividflowPipeline;", message: /workflow runtime code/ },
  { rule: 'activities: no workflow runtime API', file: 'src/pipelines/dublab/activities.ts', line: "import { sleep } from '@temporalio/workflow'; void sleep;", message: /Workflow runtime/ },
  { rule: 'activities: the limiter signals come from the contract', file: 'src/activities/limiter.ts', line: "import { providerLimiterWorkflow } from '../workflows/limiter'; void providerLimiterWorkflow;", message: /Workflow runtime code/ },
  { rule: 'client: no workflow machinery', file: 'src/client/index.ts', line: "import { ProgressTracker } from '../workflows/shared/progress'; void ProgressTracker;", message: /Workflow runtime code/ },
  { rule: 'batch starter: no workflow module', file: 'src/pipelines/batch/start.ts', line: "import { batchPipeline } from './workflow'; void batchPipeline;", message: /workflow runtime code/ },
  { rule: 'CLI: no workflow module loaded lazily either', file: 'src/cli/commands/batch.ts', line: "export const probe = () => import('../../pipelines/batch/workflow');", message: /is not loaded here/ },
  { rule: 'contract: nothing of the workflow runtime', file: 'src/contract/common.ts', line: "import { parseInput } from '../workflows/shared/input'; void parseInput;", message: /Workflow runtime code/ },
  { rule: 'sandbox: written from the docs, not from the clients', file: 'src/sandbox/vividflow.ts', line: "import { VividflowGenerate } from '../pipelines/vividflow/schemas'; void VividflowGenerate;", message: /written from the provider docs/ },
  { rule: 'spec: no workflow module', file: 'src/pipelines/lipdub/spec.ts', line: "import { lipdubPipeline } from './workflow'; void lipdubPipeline;", message: /workflow runtime code/ },
];

describe('lint keeps the layers', () => {
  // The config is handed over rather than found: ESLint loads config files with import(), which jest's VM refuses.
  const eslint = new ESLint({ cwd: ROOT, overrideConfigFile: true, overrideConfig: require(path.join(ROOT, 'eslint.config.js')) });

  it.each(CASES)('$rule ($file)', async ({ file, line, message }) => {
    const filePath = path.join(ROOT, file);
    const clean = fs.readFileSync(filePath, 'utf8');
    const [before] = await eslint.lintText(clean, { filePath });
    expect(before!.messages.filter((m) => m.severity === 2)).toEqual([]);
    const [after] = await eslint.lintText(`${line}\n${clean}`, { filePath });
    const errors = after!.messages.filter((m) => m.severity === 2 && m.line === 1);
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(message)]);
  });
});
