/**
 * `pmg serve`: the jobs API, the A1111 route and (with the web app) the page over HTTP (docs/serve.md). Binds
 * 127.0.0.1 by default; any other host needs PMG_API_KEY. Prints the URL once listening and stops cleanly on
 * SIGINT/SIGTERM: the server stops taking requests, running jobs are left for the next start, models are released.
 */
import { join, resolve } from 'node:path';
import { PmgError } from '../../errors/pmg-error.js';
import { DEFAULT_PRESET, presetNames } from '../../providers/presets.js';
import { describeQueue, parseQueueUrl } from '../../queue/queue-url.js';
import { openJobService } from '../../service/job-service.js';
import { checkBind } from '../../serve/api-key.js';
import { createApp, DEFAULT_MAX_BODY_BYTES } from '../../serve/app.js';
import { checkPortFree, listen } from '../../serve/server.js';
import { webAppExtraRoutes } from '../../serve/web-mount.js';
import { commandSettings } from '../command-settings.js';
import { booleanOption, stringOption, type Command, type CommandContext } from '../command.js';
import { intOption } from '../option-values.js';

/** `--soft NAME=DIR` (repeatable) → { NAME: absolute DIR }; names as the API shows them: [a-z0-9-]+. */
export function softModuleOption(values: readonly string[], cwd: string): Record<string, string> {
  const modules: Record<string, string> = {};
  for (const value of values) {
    const match = /^([a-z0-9][a-z0-9-]*)=(.+)$/.exec(value);
    if (!match) throw new PmgError('invalid-argument', `--soft must be NAME=DIR with a lowercase name (letters, digits, -), got '${value}'`);
    if (modules[match[1]!] !== undefined) throw new PmgError('invalid-argument', `--soft names '${match[1]}' twice; give each module its own name`);
    modules[match[1]!] = resolve(cwd, match[2]!);
  }
  return modules;
}

/** Resolves when the process gets SIGINT or SIGTERM. */
function stopSignal(): Promise<string> {
  return new Promise((done) => {
    const stop = (signal: string): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'the jobs API (live progress over SSE), an A1111-compatible txt2img route and the web app, over HTTP',
  usage: '[--host 127.0.0.1] [--port 8080] [--models DIR|PRESET] [--data DIR] [--soft NAME=DIR ...] [--queue redis://HOST:PORT[/db]] [flags]',
  options: {
    host: {
      type: 'string',
      value: 'HOST',
      description: 'address to bind; anything but loopback needs PMG_API_KEY set',
      default: '127.0.0.1',
    },
    port: {
      type: 'string',
      value: 'N',
      description: 'port (0: any free port)',
      default: '8080',
    },
    models: {
      type: 'string',
      value: 'DIR|PRESET',
      description: `a folder with llm/, clip/, sd/ as 'pmg models fixtures' writes it, or a preset: ${presetNames.join(', ')} (default: ${DEFAULT_PRESET})`,
    },
    data: {
      type: 'string',
      value: 'DIR',
      description: 'a dataset folder (MovieLens ml-latest-small, POG or stickers) for the page and /v1/datasets',
    },
    soft: {
      type: 'string',
      multiple: true,
      value: 'NAME=DIR',
      description: 'a soft module jobs may name as soft.module (repeatable)',
    },
    'data-dir': {
      type: 'string',
      value: 'DIR',
      description: 'where jobs live: pmg.sqlite, jobs/<id>/, uploads/ (default: <cache folder>/serve)',
    },
    'queue-size': {
      type: 'string',
      value: 'N',
      description: 'queued jobs at most; more answer 429 with Retry-After',
      default: '16',
    },
    concurrency: {
      type: 'string',
      value: 'N',
      description: 'jobs running at once',
      default: '1',
    },
    'job-timeout': {
      type: 'string',
      value: 'S',
      description: 'seconds a job may run before it fails with code timeout',
      default: '900',
    },
    'max-body': {
      type: 'string',
      value: 'BYTES',
      description: 'largest JSON request body (uploads: 8 MiB)',
      default: String(DEFAULT_MAX_BODY_BYTES),
    },
    cors: {
      type: 'string',
      value: 'ORIGIN',
      description: 'allow this browser origin (CORS is off without it)',
    },
    queue: {
      type: 'string',
      value: 'URL',
      description:
        "in-process (default), or redis://[:password@]host:port[/db] (or env: PMG_REDIS_URL): generations run on 'pmg worker' processes, no models load here",
      default: 'in-process',
    },
    'allow-remote-images': {
      type: 'boolean',
      description: 'fetch http(s) image URLs in histories (8 MiB, 10 s, image/* only); refused without it',
    },
  },
  details: [
    'Examples:',
    '  pmg models fixtures fx && pmg serve --models fx                 # http://127.0.0.1:8080/',
    '  curl -s localhost:8080/v1/generations -H "content-type: application/json" \\',
    '    -d \'{"scene":"movie","history":[{"title":"Alien"}],"target":{"title":"Up"},"steps":4,"width":64,"height":64}\'',
    '  PMG_API_KEY=secret pmg serve --host 0.0.0.0 --models fast     # clients send "Authorization: Bearer secret"',
    'Jobs and results live in --data-dir (SQLite + files): after a restart finished results are still served, and jobs',
    'that were queued or running run again (or fail with the reason). docs/serve.md lists every route.',
    'With --queue redis://HOST:PORT the server loads no models: each generation or txt2img job goes to the queue, a',
    "'pmg worker --queue ... --models ...' on a GPU host runs it, and the job's SSE stream relays the worker's keywords,",
    'steps and previews. Soft modules, history images and POST /v1/keywords are refused with 400 there; /readyz',
    'answers 200 while Redis is reachable (docs/scale-out.md "A service in front of the workers").',
  ].join('\n'),
  async run(context: CommandContext) {
    const { io } = context;
    const host = stringOption(context, 'host') ?? '127.0.0.1';
    const settings = commandSettings(context, { config: true });
    const apiKey = settings.apiKey;
    checkBind(host, apiKey);
    const port = intOption(context, 'port', { min: 0, max: 65535, fallback: 8080 });
    const queueSize = intOption(context, 'queue-size', { min: 1, fallback: 16 });
    const concurrency = intOption(context, 'concurrency', { min: 1, fallback: 1 });
    const jobTimeout = intOption(context, 'job-timeout', { min: 1, fallback: 900 });
    const maxBody = intOption(context, 'max-body', { min: 1024, fallback: DEFAULT_MAX_BODY_BYTES });
    const softValues = context.values.soft;
    const softModules = softModuleOption(Array.isArray(softValues) ? (softValues as string[]) : [], io.cwd);
    const dataText = stringOption(context, 'data');
    const dataDirText = stringOption(context, 'data-dir');
    const dataDir = dataDirText ? resolve(io.cwd, dataDirText) : join(settings.cacheDir, 'serve');
    const modelsText = stringOption(context, 'models');
    const models =
      modelsText === undefined ? DEFAULT_PRESET : (presetNames as readonly string[]).includes(modelsText) ? modelsText : resolve(io.cwd, modelsText);
    const cors = stringOption(context, 'cors');
    const queue = parseQueueUrl(stringOption(context, 'queue'), io.env);
    const warn = (message: string): void => void io.stderr.write(`pmg: warning: ${message}\n`);

    // The dataset folder is checked before any model loads: a wrong --data fails at once.
    const extraRoutes = webAppExtraRoutes(dataText ? { data: resolve(io.cwd, dataText) } : {});
    await checkPortFree(host, port);
    const service = await openJobService({
      dataDir,
      models,
      softModules,
      queueSize,
      concurrency,
      jobTimeoutMs: jobTimeout * 1000,
      ...(queue.kind === 'redis' ? { queue } : {}),
      settings,
      offline: context.globals.offline,
      warn,
    });
    let server;
    try {
      const app = createApp({
        service,
        ...(apiKey ? { apiKey } : {}),
        ...(cors ? { cors } : {}),
        limits: { maxBodyBytes: maxBody },
        dataDir,
        allowRemoteImages: booleanOption(context, 'allow-remote-images'),
        extraRoutes,
        log: (message) => void io.stderr.write(`pmg serve: ${message}\n`),
      });
      server = await listen(app, host, port);
    } catch (error) {
      await service.close();
      throw error;
    }
    const work = queue.kind === 'redis' ? `; generations on the workers of ${describeQueue(queue)}` : '';
    io.stdout.write(`pmg serve: listening on ${server.url}/ (jobs in ${dataDir}${work}${apiKey ? '; API key required' : ''})\n`);
    const signal = await stopSignal();
    io.stderr.write(`pmg serve: ${signal}: stopping\n`);
    await server.close();
    await service.close();
    return 0;
  },
};
