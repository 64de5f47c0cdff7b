import assert from 'node:assert/strict';
import test from 'node:test';
import { z } from 'zod';
import { PmgError } from '../errors/pmg-error.js';
import { checkGenerationJob } from '../jobs/generation-job.js';
import { fullGenerationJob } from '../testing/generation-jobs.js';
import { a1111Txt2ImgSchema, fieldToPath, generationJobSchema, generationJobValidator, issueError, pathToField } from './job-schema.js';

// Every field a job can have, each with a valid value.
const full = fullGenerationJob;

/** The field names checkGenerationJob lists when it meets an unknown one (at the top level or under `root`). */
function validatorKeys(root?: 'soft'): string[] {
  const job: Record<string, unknown> = { ...full };
  if (root) job[root] = { ...full.soft, notAField: 1 };
  else job.notAField = 1;
  try {
    checkGenerationJob(job);
  } catch (error) {
    assert.ok(error instanceof PmgError);
    const known = /known: (.*)$/.exec(error.message)?.[1];
    assert.ok(known, error.message);
    return known.split(', ').sort();
  }
  assert.fail('an unknown field was accepted');
}

test('the zod job schema and checkGenerationJob know the same field names, at the top level and in soft', () => {
  const shape = generationJobSchema.shape;
  assert.deepEqual(Object.keys(shape).sort(), validatorKeys());
  const softShape = (shape.soft.unwrap() as z.ZodObject).shape;
  assert.deepEqual(Object.keys(softShape).sort(), validatorKeys('soft'));
  // The example has every field, and both accept it.
  assert.deepEqual(Object.keys(full).sort(), Object.keys(shape).sort());
  assert.doesNotThrow(() => checkGenerationJob(full, { allowGenerator: true }));
  assert.equal(generationJobSchema.safeParse(full).success, true);
});

test('the zod schema and the validator agree on ranges at the edges', () => {
  for (const [field, bad] of [
    ['steps', 0],
    ['alpha', 1.5],
    ['width', 60],
    ['earlyFraction', 1],
    ['seed', -1],
    ['method', 'best'],
  ] as const) {
    const job = { ...full, [field]: bad };
    assert.equal(generationJobSchema.safeParse(job).success, false, `zod accepted ${field}=${bad}`);
    assert.throws(
      () => checkGenerationJob(job),
      (e: unknown) => e instanceof PmgError && e.details.field === field,
    );
  }
});

test('field paths and Standard-Schema paths convert both ways', () => {
  for (const field of ['history.items[3].title', 'soft.weight', 'scene', 'target.conversation[0].text', 'weights[1]']) {
    assert.equal(pathToField(fieldToPath(field)), field);
  }
  assert.deepEqual(fieldToPath('history.items[3].title'), ['history', 'items', 3, 'title']);
  assert.equal(pathToField([]), undefined);
  assert.equal(pathToField([{ key: 'a' }, { key: 0 }]), 'a[0]');
});

test('the Standard-Schema validator runs checkGenerationJob: same message, the field as the path', async () => {
  const validator = generationJobValidator();
  const bad = { scene: 'movie', history: [{ title: 'x' }, { titl: 'y' }], target: { title: 't' } };
  let expected = '';
  try {
    checkGenerationJob(bad);
  } catch (error) {
    expected = (error as Error).message;
  }
  const result = await validator['~standard'].validate(bad);
  assert.ok('issues' in result && result.issues);
  assert.equal(result.issues[0]!.message, expected);
  assert.deepEqual(result.issues[0]!.path, ['history', 'items', 1]);
  const error = issueError(result.issues);
  assert.equal(error.details.field, 'history.items[1]');
  assert.equal(error.message, expected);
  const ok = await validator['~standard'].validate({ scene: 'movie', history: [{ title: 'x' }], target: { title: 't' } });
  assert.ok('value' in ok);
  assert.deepEqual(ok.value, { scene: 'movie', history: { items: [{ title: 'x' }] }, target: { item: { title: 't' } } });
});

test('the validator runs prepare first and reports its field errors; other errors pass through', async () => {
  const refuse = generationJobValidator(async () => {
    throw new PmgError('invalid-input', 'history.items[0].image: no', { details: { field: 'history.items[0].image' } });
  });
  const result = await refuse['~standard'].validate({});
  assert.ok('issues' in result && result.issues);
  assert.deepEqual(result.issues[0]!.path, ['history', 'items', 0, 'image']);
  const broken = generationJobValidator(async () => {
    throw new PmgError('file-system', 'disk full');
  });
  await assert.rejects(async () => broken['~standard'].validate({}), /disk full/);
});

test('the job and A1111 schemas turn into JSON Schema; A1111 defaults are its own', () => {
  const schema = z.toJSONSchema(generationJobSchema, { io: 'input' }) as { properties: Record<string, unknown>; required: string[] };
  assert.deepEqual(schema.required.sort(), ['history', 'scene', 'target']);
  assert.ok('soft' in schema.properties);
  const parsed = a1111Txt2ImgSchema.parse({ prompt: 'a cat', override_settings: {} });
  assert.equal(parsed.steps, 50);
  assert.equal(parsed.cfg_scale, 7);
  assert.equal(parsed.seed, -1);
  assert.equal(parsed.batch_size, 1);
  assert.equal(a1111Txt2ImgSchema.safeParse({ steps: 'ten' }).success, false);
});
