import { randomUUID } from 'node:crypto';
import { DUBLAB_OUTPUT_TYPES, dublabOutputPlan, type DublabOutputType } from './derive';
import {
  HttpError,
  Router,
  readJsonBody,
  requireMimeType,
  requirePositiveNumber,
  requireString,
  requireStringArray,
  sendJson,
  type RequestContext,
} from './http';
import { downloadTtlSeconds } from './config';
import type { ProviderDeps, ProviderService } from './provider';
import { safeSegment, type ObjectInfo } from './store';

type ExternalStatusId = 1 | 2 | 3 | 4 | 5;

interface Project {
  id: string;
  name: string;
  fileType: string;
  sourceLang: string;
  duration: number;
  uploadKey: string;
  fileIds: string[];
  originals: Promise<Map<DublabOutputType, ObjectInfo>> | null;
}

interface Dub {
  id: string;
  seq: number;
  project: Project;
  targetLang: string;
  status: ExternalStatusId;
  statusAt: number;
  errorMessage: string | null;
  measuredDuration: number | null;
  /** Fault injection: fails when it would have completed. */
  doomed: boolean;
  createdAt: Date;
  outputs: Promise<Map<DublabOutputType, ObjectInfo>> | null;
}

const LANGUAGE_SHAPE = /^([a-z]{2})(-[A-Za-z]{2})?$/;

export function createDublab(deps: ProviderDeps): ProviderService {
  const { store, config } = deps;
  const projects = new Map<string, Project>();
  const dubs = new Map<string, Dub>();
  let seq = 0;

  function authenticate(ctx: RequestContext): void {
    const key = ctx.req.headers['apikey'];
    if (key === undefined) throw new HttpError(401, 'Missing apikey header');
    if (key !== deps.apiKey) throw new HttpError(401, 'Invalid API key');
  }

  function requireLanguage(value: unknown, field: string): string {
    if (typeof value !== 'string' || value.trim() === '') throw new HttpError(400, `${field} is required`);
    const m = LANGUAGE_SHAPE.exec(value);
    const supported = config.dublab.supportedLanguages;
    if (!m || !(supported.includes(value) || supported.includes(m[1]!))) {
      throw new HttpError(400, `${field}: unsupported language ${JSON.stringify(value)}`);
    }
    return value;
  }

  function createProject(body: Record<string, unknown>): Project {
    const fileType = requireMimeType(body, 'fileType', ['video', 'audio']);
    const name = requireString(body, 'name');
    const sourceLang = requireLanguage(body.source_lang, 'source_lang');
    const duration = requirePositiveNumber(body, 'duration');
    const id = randomUUID();
    return { id, name, fileType, sourceLang, duration, uploadKey: `dublab/uploads/${id}/${safeSegment(name)}`, fileIds: [], originals: null };
  }

  function addDub(project: Project, targetLang: string): Dub {
    const dub: Dub = {
      id: randomUUID(),
      seq: seq++,
      project,
      targetLang,
      status: 1,
      statusAt: deps.now(),
      errorMessage: null,
      measuredDuration: null,
      doomed: false,
      createdAt: new Date(deps.now()),
      outputs: null,
    };
    dubs.set(dub.id, dub);
    project.fileIds.push(dub.id);
    return dub;
  }

  function findDub(id: string): Dub {
    const d = dubs.get(id);
    if (!d) throw new HttpError(404, `Dub ${id} not found`);
    return d;
  }

  // Lazy, phase-by-phase progression (see lipdub.ts): config changes never move a dub backwards.
  function advance(dub: Dub, now: number): void {
    const t = config.timings.dublab;
    if (dub.status === 2 && now - dub.statusAt >= t.queueMs) {
      dub.statusAt += t.queueMs;
      dub.status = 3;
    }
    if (dub.status === 3 && now - dub.statusAt >= t.processMs) {
      dub.statusAt += t.processMs;
      if (config.dublab.failLanguages.includes(dub.targetLang)) {
        dub.status = 4;
        dub.errorMessage = `Dubbing into ${dub.targetLang} failed: the voice pipeline could not process this language`;
      } else if (dub.doomed) {
        dub.status = 4;
        dub.errorMessage = 'Dubbing failed: speech separation produced no usable voice track';
      } else {
        dub.status = 5;
        dub.measuredDuration = dub.project.duration;
        config.dublab.credits = Math.max(0, config.dublab.credits - dub.measuredDuration);
        void produceOutputs(dub);
      }
    }
  }

  function advanceAll(): void {
    const now = deps.now();
    for (const d of dubs.values()) advance(d, now);
  }

  function produceOriginals(project: Project): Promise<Map<DublabOutputType, ObjectInfo>> {
    if (!project.originals) {
      project.originals = deps.track(
        (async () => {
          const sha = await store.sha256(project.uploadKey);
          const out = new Map<DublabOutputType, ObjectInfo>();
          const source = store.info(project.uploadKey)!;
          out.set('original', source);
          out.set('original_mp4', source);
          for (const type of ['original_mp3', 'original_subtitle', 'poster'] as const) {
            const plan = dublabOutputPlan(type, sha, project.sourceLang, project.fileType);
            out.set(type, await store.compose(`dublab/outputs/${project.id}/${type}${extension(type)}`, plan.contentType, [plan.prefix]));
          }
          return out;
        })(),
      );
      project.originals.catch(() => undefined);
    }
    return project.originals;
  }

  function produceOutputs(dub: Dub): Promise<Map<DublabOutputType, ObjectInfo>> {
    if (!dub.outputs) {
      const project = dub.project;
      dub.outputs = deps.track(
        (async () => {
          const sha = await store.sha256(project.uploadKey);
          const out = new Map(await produceOriginals(project));
          const base = `dublab/outputs/${project.id}/${dub.id}`;
          const plan = (type: DublabOutputType) => dublabOutputPlan(type, sha, dub.targetLang, project.fileType);
          const video = plan('translated_mp4');
          const videoInfo = await store.compose(`${base}/translated.mp4`, video.contentType, [video.prefix, { key: project.uploadKey }]);
          out.set('translated_mp4', videoInfo);
          out.set('translated', videoInfo);
          for (const type of ['translated_mp3', 'translated_subtitle'] as const) {
            const p = plan(type);
            out.set(type, await store.compose(`${base}/${type}${extension(type)}`, p.contentType, [p.prefix]));
          }
          return out;
        })(),
      );
      dub.outputs.catch(() => undefined);
    }
    return dub.outputs;
  }

  async function signedOutputs(dub: Dub): Promise<Record<string, { url: string; downloadUrl: string }>> {
    if (dub.status !== 5) return {};
    const objects = await produceOutputs(dub);
    // Equal to urlTtlSeconds in the faithful profile; 20 s in docs-minimal.
    const ttl = downloadTtlSeconds(config);
    const result: Record<string, { url: string; downloadUrl: string }> = {};
    for (const type of DUBLAB_OUTPUT_TYPES) {
      const o = objects.get(type)!;
      result[type] = {
        url: store.signedUrl('GET', o.key, o.contentType, ttl),
        downloadUrl: store.signedUrl('GET', o.key, o.contentType, ttl, { download: '1' }),
      };
    }
    return result;
  }

  /** Read at answer time: configure() may switch the profile while the sandbox runs. */
  const docsMinimal = () => config.profile === 'docs-minimal';

  /**
   * docs-minimal: what dublab.md shows of a dub in `GET /dubs` — its id under the docs' name for it
   * (`fileId`), `projectId` ("includes projectId"), `externalStatusId` ("until externalStatusId = 5") and,
   * on a failed dub only, `externalErrorMessage`. No name, languages, durations or dates.
   */
  function docsMinimalDubJson(d: Dub) {
    return {
      fileId: d.id,
      projectId: d.project.id,
      externalStatusId: d.status,
      ...(d.status === 4 ? { externalErrorMessage: d.errorMessage } : {}),
    };
  }

  function dubJson(d: Dub) {
    if (docsMinimal()) return docsMinimalDubJson(d);
    return {
      id: d.id,
      projectId: d.project.id,
      name: d.project.name,
      sourceLang: d.project.sourceLang,
      targetLang: d.targetLang,
      externalStatusId: d.status,
      externalErrorMessage: d.errorMessage,
      duration: d.project.duration,
      measuredDuration: d.measuredDuration,
      createdAt: d.createdAt.toISOString(),
    };
  }

  const router = new Router();
  const route = (method: 'GET' | 'POST', pattern: string, handler: (ctx: RequestContext) => Promise<void> | void) =>
    router.add(method, pattern, async (ctx) => {
      authenticate(ctx);
      await handler(ctx);
    });

  route('GET', '/api/v1/me', (ctx) => {
    advanceAll();
    // docs-minimal: "Your profile and credit balance" names no field; the balance alone, as `credits`.
    if (docsMinimal()) return sendJson(ctx.res, 200, { credits: config.dublab.credits });
    sendJson(ctx.res, 200, { id: 'user_sandbox', email: 'sandbox@dublab.invalid', name: 'Sandbox User', credits: config.dublab.credits });
  });

  route('GET', '/api/v1/dubs', (ctx) => {
    advanceAll();
    const list = [...dubs.values()].sort((a, b) => b.seq - a.seq).map(dubJson);
    sendJson(ctx.res, 200, { dubs: list });
  });

  route('GET', '/api/v1/dubs/:fileId/outputs', async (ctx) => {
    const dub = findDub(ctx.params.fileId!);
    advance(dub, deps.now());
    const outputs = await signedOutputs(dub);
    // docs-minimal: the documented `outputs` map only (empty until the dub completes): no status, no id, no expiresIn.
    if (docsMinimal()) return sendJson(ctx.res, 200, { outputs });
    sendJson(ctx.res, 200, { fileId: dub.id, externalStatusId: dub.status, expiresIn: config.urlTtlSeconds, outputs });
  });

  route('GET', '/api/v1/projects/:projectId/outputs', async (ctx) => {
    const project = projects.get(ctx.params.projectId!);
    if (!project) throw new HttpError(404, `Project ${ctx.params.projectId} not found`);
    const now = deps.now();
    const files = [];
    for (const id of project.fileIds) {
      const dub = dubs.get(id)!;
      advance(dub, now);
      // docs-minimal: "Outputs for every language in a project": each file's id and its `outputs` map, no status.
      if (docsMinimal()) {
        files.push({ fileId: dub.id, outputs: await signedOutputs(dub) });
        continue;
      }
      files.push({
        fileId: dub.id,
        targetLang: dub.targetLang,
        externalStatusId: dub.status,
        externalErrorMessage: dub.errorMessage,
        outputs: await signedOutputs(dub),
      });
    }
    if (docsMinimal()) return sendJson(ctx.res, 200, { files });
    sendJson(ctx.res, 200, { projectId: project.id, expiresIn: config.urlTtlSeconds, files });
  });

  route('POST', '/api/v1/init-dub', async (ctx) => {
    const body = await readJsonBody(ctx.req);
    const project = createProject(body);
    const destLang = requireLanguage(body.dest_lang, 'dest_lang');
    projects.set(project.id, project);
    const dub = addDub(project, destLang);
    deps.faults.created(ctx, { id: dub.id, key: project.name });
    // docs-minimal: "Create one file (one language) and get an upload URL": the file and the URL.
    const uploadUrl = store.signedUrl('PUT', project.uploadKey, project.fileType, config.urlTtlSeconds);
    if (docsMinimal()) return sendJson(ctx.res, 200, { fileId: dub.id, uploadUrl });
    sendJson(ctx.res, 200, {
      fileId: dub.id,
      projectId: project.id,
      uploadUrl,
    });
  });

  route('POST', '/api/v1/init-dub-group', async (ctx) => {
    const body = await readJsonBody(ctx.req);
    const project = createProject(body);
    const destLangs = requireStringArray(body, 'dest_langs').map((l, i) => requireLanguage(l, `dest_langs[${i}]`));
    const dup = destLangs.find((l, i) => destLangs.indexOf(l) !== i);
    if (dup) throw new HttpError(400, `dest_langs lists ${dup} twice`);
    projects.set(project.id, project);
    const files = destLangs.map((lang) => ({ fileId: addDub(project, lang).id, dest_lang: lang }));
    deps.faults.created(ctx, { id: project.id, key: project.name });
    if (docsMinimal()) {
      // What the docs' flow reads: `.uploadUrl`, `.projectId`, `.files[].fileId` (in dest_langs order, no language).
      return sendJson(ctx.res, 200, {
        projectId: project.id,
        uploadUrl: store.signedUrl('PUT', project.uploadKey, project.fileType, config.urlTtlSeconds),
        files: files.map((f) => ({ fileId: f.fileId })),
      });
    }
    sendJson(ctx.res, 200, {
      projectId: project.id,
      uploadUrl: store.signedUrl('PUT', project.uploadKey, project.fileType, config.urlTtlSeconds),
      files,
    });
  });

  route('POST', '/api/v1/start-dub', async (ctx) => {
    const body = await readJsonBody(ctx.req);
    const dub = findDub(requireString(body, 'fileId'));
    if (dub.status !== 1) throw new HttpError(409, 'Dub has already been started');
    if (!store.has(dub.project.uploadKey)) throw new HttpError(412, 'File has not been uploaded');
    const credits = config.dublab.credits;
    if (credits < dub.project.duration) {
      throw new HttpError(402, `Insufficient credits: ${dub.project.duration} needed, ${credits} available`);
    }
    dub.status = 2;
    dub.statusAt = deps.now();
    dub.doomed = deps.faults.jobFails(ctx);
    deps.faults.created(ctx, { id: dub.id, key: dub.id });
    // docs-minimal: the docs show no body for a started dub.
    if (docsMinimal()) return sendJson(ctx.res, 200, {});
    sendJson(ctx.res, 200, { fileId: dub.id, externalStatusId: 2 });
  });

  return {
    router,
    formatError: (ctx, err) => sendJson(ctx.res, err.status, { error: err.message }),
    running: () => {
      advanceAll();
      // In queue (2) or processing (3): started, billed when it completes. Uploading (1) is not started yet.
      return [...dubs.values()]
        .filter((d) => d.status === 2 || d.status === 3)
        .map((d) => ({ provider: 'dublab' as const, kind: 'dub' as const, id: d.id, status: String(d.status), key: d.project.name }));
    },
  };
}

function extension(type: DublabOutputType): string {
  if (type.endsWith('_mp3')) return '.mp3';
  if (type.endsWith('_subtitle')) return '.vtt';
  if (type === 'poster') return '.png';
  return '.mp4';
}
