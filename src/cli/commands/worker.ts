/**
 * `pmg worker --queue redis://... --models ...`: a generation worker (issue 14). It loads the models once, takes
 * generation units from the BullMQ queue (`pmg eval --queue` enqueues them), runs each as `pmg eval` would in process,
 * reports the progress of a service's jobs (steps, keywords, previews) through `job.updateProgress`, and returns the result with the PNG bytes inside (no shared
 * disk). SIGTERM or SIGINT: finish the running job(s), then stop with exit 0. A killed worker's job goes back to the
 * queue after its lock lapses (`--lock-duration`). `--generator a1111:URL|comfyui:URL` sends the diffusion stage to
 * that server. Every result carries the worker's model fingerprint (queue/model-fingerprint.ts); a unit enqueued for
 * other models is refused at once (no retries), and the eval records it as failed.
 */
import { hostname } from 'node:os';
import { PmgError } from '../../errors/pmg-error.js';
import { loadPersonalizeModels, resolveModelSpecs } from '../../providers/model-set.js';
import { presetNames } from '../../providers/presets.js';
import { checkRedis, startQueueWorker } from '../../queue/bullmq-queue.js';
import { runQueueUnit, type QueueUnit, type QueueUnitResult } from '../../queue/relayed-unit.js';
import { modelFingerprint } from '../../queue/model-fingerprint.js';
import { describeQueue, parseQueueUrl } from '../../queue/queue-url.js';
import { commandSettings } from '../command-settings.js';
import { stringOption, type Command } from '../command.js';
import { decoderCommandOptions } from '../decoder-options.js';
import { generationModelFlags } from '../generation-model-flags.js';
import { llmCommandOptions } from '../llm-options.js';
import { intOption } from '../option-values.js';
import { modelStoreForCommand } from '../store-from-context.js';

export const workerCommand: Command = {
  name: 'worker',
  summary: 'take generation jobs from a Redis queue (pmg eval --queue) and run them with models loaded once',
  usage: '--queue redis://host:port[/db] --models DIR|PRESET [--generator a1111:URL|comfyui:URL] [--concurrency N] [--lock-duration MS]',
  options: {
    queue: {
      type: 'string',
      value: 'URL',
      description: "redis://[:password@]host:port[/db], or env (PMG_REDIS_URL); a URL without a password takes PMG_REDIS_URL's",
    },
    models: { type: 'string', value: 'DIR|PRESET', description: `generation models: a folder with llm/, clip/, sd/ or a preset: ${presetNames.join(', ')}` },
    generator: {
      type: 'string',
      value: 'SPEC',
      description:
        'a remote image generator for the diffusion stage: a1111:http://host:port or comfyui:http://host:port[#ckpt=FILE]; give the eval the same --generator (docs/remote-generators.md)',
    },
    ...decoderCommandOptions,
    ...llmCommandOptions,
    concurrency: { type: 'string', value: 'N', description: 'jobs at once in this process', default: '1' },
    'lock-duration': {
      type: 'string',
      value: 'MS',
      description: 'job lock; a worker silent this long is presumed dead and its job is delivered again',
      default: '30000',
    },
  },
  details: [
    'Run any number of workers on any number of hosts against one Redis; give each the same --models (and --generator) as the eval:',
    "each result carries the worker's model fingerprint, and a unit enqueued for other models is refused and recorded as failed.",
    "SIGTERM finishes the running job, then exits 0; a SIGKILLed worker's job is re-delivered after --lock-duration.",
    'Example: pmg worker --queue redis://10.0.0.5:6379/0 --models fx   (docs/scale-out.md)',
  ].join('\n'),
  async run(context) {
    const { io } = context;
    const text = stringOption(context, 'queue');
    if (!text) throw new PmgError('invalid-argument', 'missing --queue redis://host:port[/db] (the Redis the eval enqueues on)');
    const target = parseQueueUrl(text, io.env);
    if (target.kind !== 'redis') throw new PmgError('invalid-argument', '--queue: a worker needs redis://host:port[/db]; in-process work needs no worker');
    const concurrency = intOption(context, 'concurrency', { min: 1, fallback: 1 });
    const lockDurationMs = intOption(context, 'lock-duration', { min: 100, fallback: 30_000 });
    const { spec: modelSpec, generator } = generationModelFlags(context);
    resolveModelSpecs(modelSpec, io.cwd);
    const runner = { worker: `${hostname()}:${process.pid}`, fingerprint: modelFingerprint(modelSpec, io.cwd) };
    // Listen from the start: a SIGTERM while the models load stops the worker cleanly once it is up.
    const stopSignal = new Promise<string>((resolveSignal) => {
      const stop = (name: string) => () => resolveSignal(name);
      process.once('SIGTERM', stop('SIGTERM'));
      process.once('SIGINT', stop('SIGINT'));
    });
    const log = (line: string) => void io.stderr.write(`pmg worker: ${line}\n`);
    await checkRedis(target); // before the models load (minutes for real ones)
    const modelSet = await loadPersonalizeModels(modelSpec, {
      store: modelStoreForCommand(context),
      settings: commandSettings(context, { config: true }),
      offline: context.globals.offline,
      warn: (message) => log(`warning: ${message}`),
    });
    try {
      const worker = await startQueueWorker<QueueUnit, QueueUnitResult>(target, (unit, report) => runQueueUnit(modelSet, unit, report, runner), {
        concurrency,
        // A unit for other models, or one the generator cannot do, fails now: another try here would fail the same way.
        unrecoverable: (error) => error instanceof PmgError && (error.code === 'invalid-argument' || error.code === 'invalid-input'),
        lockDurationMs,
        onError: (error) => log(`queue error: ${error.message.split('\n')[0]}`),
        onJob: ({ key, state, reason, attempt }) => log(`${state} ${key} (attempt ${attempt})${reason ? `: ${reason}` : ''}`),
      });
      log(`ready on ${describeQueue(target)} (concurrency ${concurrency}; models ${runner.fingerprint}${generator ? `, generator ${generator}` : ''})`);
      log(`${await stopSignal}: finishing the running job, then stopping`);
      await worker.close();
      log('stopped');
      return 0;
    } finally {
      await modelSet.close();
    }
  },
};
