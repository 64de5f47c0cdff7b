import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readImageRgb } from '../core/image-io.js';
import { PmgError } from '../errors/pmg-error.js';
import { ModelRegistry, type Closable } from '../runtime/model-registry.js';
import { jobServiceFixture, smallMovieJob, type JobServiceFixture } from '../testing/job-service-fixture.js';
import { runCli } from '../testing/run-cli.js';
import type { JobEvent } from './job-types.js';

let fx: JobServiceFixture;

before(async () => {
  fx = await jobServiceFixture('pmg-job-service-', { captioner: true });
});
after(async () => {
  await fx.close();
});

interface Result {
  chosen: number;
  keywords: { preference: string[] };
  candidates: { dp: number; dt: number; z: number; image: string; weights: unknown }[];
}

test('a generation job ends done with the files and scores of pmg generate for the same job', async () => {
  const service = await fx.open();
  const job = smallMovieJob();
  const submitted = service.submit('generation', job);
  assert.match(submitted.id, /^j_[a-z2-7]{20}$/);
  const unsubscribe = service.subscribe(submitted.id, () => undefined); // watched: previews are made
  const done = await service.wait(submitted.id);
  unsubscribe();
  assert.equal(done.state, 'done', JSON.stringify(done.error));
  assert.equal(done.attempts, 1);
  assert.deepEqual(done.images, ['preview-0', 'preview-1', 'candidate-0', 'candidate-1', 'best']);
  const resultPath = service.resultFile(submitted.id)!;
  const ours = JSON.parse(readFileSync(resultPath, 'utf8')) as Result;
  assert.deepEqual(done.result, ours, 'the record carries result.json');

  // pmg generate on the same job, through its flags and files
  writeFileSync(join(fx.root, 'h.json'), JSON.stringify(job.history));
  writeFileSync(join(fx.root, 't.json'), JSON.stringify((job.target as { item: unknown }).item));
  const argv = 'generate --models fx --scene movie --history h.json --target t.json --steps 3 --width 64 --height 64 --out cli-out';
  const cli = await runCli(argv.split(' '), { cwd: fx.root, env: fx.env });
  assert.equal(cli.code, 0, cli.stderr);
  const theirs = JSON.parse(readFileSync(join(fx.root, 'cli-out', 'result.json'), 'utf8')) as Result;
  assert.equal(ours.chosen, theirs.chosen);
  assert.deepEqual(ours.keywords.preference, theirs.keywords.preference);
  assert.deepEqual(
    ours.candidates.map((c) => [c.weights, c.dp, c.dt, c.z]),
    theirs.candidates.map((c) => [c.weights, c.dp, c.dt, c.z]),
  );
  for (const name of ['candidate-0', 'candidate-1', 'best']) {
    const path = service.imageFile(submitted.id, name)!;
    assert.ok(path.endsWith(`${name}.png`));
    assert.deepEqual(readFileSync(path), readFileSync(join(fx.root, 'cli-out', `${name}.png`)), `${name}.png equals pmg generate's`);
  }
  assert.ok(service.imageFile(submitted.id, 'preview-0'));
  assert.equal(service.imageFile(submitted.id, '../pmg'), undefined, 'names outside the record are refused');
  assert.equal(service.imageFile(submitted.id, 'result'), undefined);
  assert.equal(service.imageFile('j_nope', 'best'), undefined);

  // events: ids 1..n, in order
  const events = service.events(submitted.id);
  assert.deepEqual(
    events.map((e) => e.id),
    events.map((_, i) => i + 1),
  );
  assert.deepEqual(
    events.map((e) => e.type),
    ['queued', 'started', 'keywords', 'step', 'step', 'step', 'candidate', 'candidate', 'done'],
  );
  const [queued, started, keywords, step1] = events as [JobEvent, JobEvent, JobEvent, JobEvent];
  assert.deepEqual(queued.data, { position: 0 });
  assert.deepEqual(started.data, { attempt: 1 });
  assert.deepEqual(keywords.data.preference, theirs.keywords.preference);
  assert.deepEqual(step1.data, {
    step: 1,
    total: 3,
    previews: [
      { candidate: 0, image: 'preview-0' },
      { candidate: 1, image: 'preview-1' },
    ],
    version: 1,
  });
  const candidate1 = events[7]!.data;
  assert.deepEqual(candidate1, {
    index: 1,
    weights: ours.candidates[1]!.weights,
    dp: ours.candidates[1]!.dp,
    dt: ours.candidates[1]!.dt,
    z: ours.candidates[1]!.z,
    finished: true,
    image: 'candidate-1',
  });
  assert.equal(events.at(-1)!.data.chosen, ours.chosen);
  assert.equal(events.at(-1)!.data.image, 'best');
  assert.deepEqual(
    service.events(submitted.id, 6).map((e) => e.id),
    [7, 8, 9],
  );
  assert.deepEqual(service.events(submitted.id, 9), []);
  assert.deepEqual(
    service.list().map((j) => j.id),
    [submitted.id],
  );
  assert.deepEqual(service.stats(), { queued: 0, running: 0, capacity: 16 });
});

test('a job nobody watches skips its previews (no decode, no files); its step events still come, with previews []', async () => {
  const service = await fx.open();
  const done = await service.wait(service.submit('generation', { ...smallMovieJob(), seed: 11 }).id);
  assert.equal(done.state, 'done', JSON.stringify(done.error));
  assert.deepEqual(done.images, ['candidate-0', 'candidate-1', 'best']);
  assert.equal(service.imageFile(done.id, 'preview-0'), undefined);
  const steps = service.events(done.id).filter((e) => e.type === 'step');
  assert.deepEqual(
    steps.map((e) => e.data),
    [1, 2, 3].map((step) => ({ step, total: 3, previews: [], version: step })),
  );
  assert.equal((done.result as { timings: Record<string, number> }).timings.preview, undefined, 'no preview was decoded');

  const txt = await service.wait(service.submit('txt2img', { prompt: 'a cat', steps: 2, width: 64, height: 64 }).id);
  assert.deepEqual(
    service
      .events(txt.id)
      .filter((e) => e.type === 'step')
      .map((e) => e.data),
    [1, 2].map((step) => ({ step, total: 2, previews: [], version: step })),
  );
});

test('jobs share one loaded model set (loaded once), the soft module runs by name, and list pages newest first', async () => {
  const registry = new ModelRegistry<Closable>({ maxIdle: 2 });
  const service = await fx.open({ softModules: { tiny: join(fx.models, 'soft') } }, { registry });
  const live: string[] = [];
  const a = service.submit('generation', smallMovieJob());
  const unsubscribe = service.subscribe(a.id, (event) => live.push(event.type));
  const b = service.submit('generation', smallMovieJob({ method: 'soft', soft: { module: 'tiny', weight: 0.5 } }));
  assert.equal(b.state, 'queued');
  assert.equal(b.queuePosition, 0);
  const [doneA, doneB] = await Promise.all([service.wait(a.id), service.wait(b.id)]);
  unsubscribe();
  assert.equal(doneA.state, 'done');
  assert.equal(doneB.state, 'done', JSON.stringify(doneB.error));
  assert.ok(live.includes('done') && live.includes('step'), live.join(' '));
  const modelKeys = registry.snapshot().filter((e) => e.key.startsWith('models:'));
  assert.equal(modelKeys.length, 1);
  assert.equal(registry.loads(modelKeys[0]!.key), 1);
  assert.ok(service.events(b.id).some((e) => e.type === 'soft' && e.data.N === 4));
  const soft = (doneB.result as { soft: { weight: number; N: number } }).soft;
  assert.equal(soft.weight, 0.5);
  assert.equal(soft.N, 4);
  assert.deepEqual(
    service.list().map((j) => j.id),
    [b.id, a.id],
  );
  assert.deepEqual(
    service.list({ before: b.id }).map((j) => j.id),
    [a.id],
  );
  assert.deepEqual(
    service.list({ limit: 1 }).map((j) => j.id),
    [b.id],
  );
  const models = service.models();
  assert.equal(models.loaded, true);
  assert.deepEqual(models.soft, [{ name: 'tiny', P: 4, N: 4 }]);
  assert.equal(models.captioner, true);
  assert.ok(service.ready());
});

function refusal(run: () => unknown): PmgError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof PmgError, String(error));
    return error;
  }
  assert.fail('expected a refusal');
}

test('invalid jobs are refused with the field path, before anything is queued', async () => {
  const service = await fx.open({ softModules: { tiny: join(fx.models, 'soft') } });
  const cases: [unknown, string, RegExp][] = [
    [smallMovieJob({ history: { items: [{ title: 'Heat' }, { title: 7 }] } }), 'history.items[1].title', /history\.items\[1\]\.title/],
    [smallMovieJob({ steps: 0 }), 'steps', /steps must be a whole number/],
    [smallMovieJob({ soft: { module: 'other' } }), 'soft.module', /unknown soft module 'other'; name one of this server's: tiny/],
    [smallMovieJob({ soft: { module: 'tiny', llmBody: '/etc' } }), 'soft.llmBody', /drop soft\.llmBody/],
    [smallMovieJob({ decoder: '/tmp/x' }), 'decoder', /model set's decoder/],
    [smallMovieJob({ history: { items: [{ title: 'Heat', image: '/etc/passwd' }] } }), 'history.items[0].image', /not an uploaded image/],
    [smallMovieJob({ history: { items: [{ title: 'Heat', image: '../pmg.sqlite' }] } }), 'history.items[0].image', /not an uploaded image/],
    [smallMovieJob({ history: { items: [{ title: 'Heat', image: 'missing.png' }] } }), 'history.items[0].image', /does not exist in the uploads/],
  ];
  for (const [job, field, message] of cases) {
    const error = refusal(() => service.submit('generation', job));
    assert.equal(error.code, 'invalid-input', error.message);
    assert.equal(error.details.field, field, error.message);
    assert.match(error.message, message);
  }
  const txt = refusal(() => service.submit('txt2img', { prompt: 'a cat', width: 65 }));
  assert.equal(txt.details.field, 'width');
  assert.equal(refusal(() => service.submit('txt2img', { prompt: '' })).details.field, 'prompt');
  assert.equal(refusal(() => service.submit('txt2img', { prompt: 'x', sampler: 'y' })).details.field, 'sampler');
  assert.equal(refusal(() => service.submit('txt2img', { prompt: 'x', scheduler: 'nope' })).details.field, 'scheduler');
  assert.deepEqual(service.list(), [], 'nothing was queued');
});

test('an uploaded history image is captioned by the models folder captioner; without one it is refused', async () => {
  const service = await fx.open({ data: 'captioned' });
  const png = readFileSync(join(fx.root, 'cli-out', 'best.png'));
  const dataUploads = join(fx.root, 'captioned', 'uploads');
  writeFileSync(join(dataUploads, 'a.png'), png);
  symlinkSync(join(fx.root, 'cli-out', 'best.png'), join(dataUploads, 'link.png'));
  const linked = refusal(() => service.submit('generation', smallMovieJob({ history: { items: [{ title: 'Heat', image: 'link.png' }] } })));
  assert.equal(linked.details.field, 'history.items[0].image');
  assert.match(linked.message, /not an uploaded image/);
  const job = smallMovieJob({ history: { items: [{ title: 'Heat' }, { image: 'a.png' }] } });
  const done = await service.wait(service.submit('generation', job).id);
  assert.equal(done.state, 'done', JSON.stringify(done.error));
  const stored = done.job as { history: { items: { image?: string }[] } };
  assert.equal(stored.history.items[1]!.image, join(dataUploads, 'a.png'), 'stored as the absolute uploads path');
  const keywords = (await service.keywords({ scene: 'movie', history: job.history, target: job.target })) as { preference: string[] };
  assert.equal(keywords.preference.length, 8);
  const bad = await service.keywords({ scene: 'movie', history: job.history, target: job.target, extra: 1 }).catch((e: unknown) => e as PmgError);
  assert.equal((bad as PmgError).details.field, 'extra');

  // A models folder without captioner/: refused at submit with the item's field.
  const bare = join(fx.root, 'bare');
  mkdirSync(bare);
  for (const part of ['llm', 'clip', 'sd']) cpSync(join(fx.models, part), join(bare, part), { recursive: true });
  const noCaptioner = await fx.open({ models: bare, data: 'bare-data' });
  mkdirSync(join(fx.root, 'bare-data', 'uploads'), { recursive: true });
  writeFileSync(join(fx.root, 'bare-data', 'uploads', 'a.png'), png);
  const error = refusal(() => noCaptioner.submit('generation', job));
  assert.equal(error.details.field, 'history.items[1].image');
  assert.match(error.message, /no captioner/);
  assert.equal(noCaptioner.models().captioner, false);
});

test('close waits for a keywords call in flight (the cache and models stay open for it); after close keywords is refused', async () => {
  const service = await fx.open();
  const input = { scene: 'movie', history: [{ title: 'Zodiac' }, { title: 'Se7en' }], target: { title: 'Up' } };
  const call = service.keywords(input);
  await service.close();
  const answer = (await call) as { preference: string[]; cached: boolean };
  assert.ok(answer.preference.length > 0);
  assert.equal(answer.cached, false);
  await assert.rejects(service.keywords(input), /closed/);
});

test('a txt2img job writes image-<i>.png with its seeds and record', async () => {
  const service = await fx.open();
  const done = await service.wait(service.submit('txt2img', { prompt: 'a cat', steps: 2, width: 64, height: 64, seed: 5, count: 2 }).id);
  assert.equal(done.state, 'done', JSON.stringify(done.error));
  const result = done.result as { images: string[]; seeds: number[]; settings: { prompt: string; steps: number } & Record<string, unknown> };
  assert.deepEqual(result.images, ['image-0', 'image-1']);
  assert.deepEqual(result.seeds, [5, 6]);
  assert.equal(result.settings.prompt, 'a cat');
  assert.ok(readFileSync(service.imageFile(done.id, 'image-1')!).subarray(1, 4).equals(Buffer.from('PNG')));
  assert.equal(service.resultFile(done.id), undefined, 'txt2img has no result.json');
  assert.equal(service.events(done.id).at(-1)!.type, 'done');

  // pmg txt2img on the same settings: the same pixels and the same record (but for times, files and memory plan).
  const argv = ['txt2img', '--model', join(fx.models, 'sd'), '--prompt', 'a cat', '--steps', '2', '--width', '64', '--height', '64', '--seed', '5'];
  const cli = await runCli([...argv, '--batch', '2', '--out', join(fx.root, 'cat.png'), '--json'], { cwd: fx.root, env: fx.env });
  assert.equal(cli.code, 0, cli.stderr);
  const comparable = (record: Record<string, unknown>): Record<string, unknown> => {
    const { timings, memory, images, ...rest } = record;
    (void timings, void memory);
    return { ...rest, seeds: (images as { seed: number }[]).map((i) => i.seed) };
  };
  assert.deepEqual(comparable(result.settings as unknown as Record<string, unknown>), comparable(JSON.parse(cli.stdout) as Record<string, unknown>));
  for (const i of [0, 1]) {
    const ours = await readImageRgb(service.imageFile(done.id, `image-${i}`)!);
    const theirs = await readImageRgb(join(fx.root, `cat-${i}.png`));
    assert.deepEqual(ours.data, theirs.data, `image ${i}: the same pixels as pmg txt2img`);
  }
});
