/**
 * `pmg keywords`: a user's preference keywords and the target's keywords from an LLM
 * (issue 3). Inputs come from history/target JSON files or from MovieLens (official protocol).
 * Everything cheap is checked before the LLM is loaded or the cache file is touched, so a bad
 * input writes nothing.
 */
import { commandSettings } from '../command-settings.js';
import { dirname, resolve } from 'node:path';
import { PmgError } from '../../errors/pmg-error.js';
import { loadMovieLens, movieLensSampleForUser } from '../../data/movielens.js';
import { createLanguageModel } from '../../providers/llm/registry.js';
import { scenes, type History, type Scene, type Target } from '../../spec/behaviour.js';
import { extractKeywords, keywordVariants, type KeywordResult, type KeywordVariant } from '../../personalize/extract-keywords.js';
import { readHistoryFile, readTargetFile } from '../../personalize/inputs.js';
import type { KeywordCache } from '../../personalize/keyword-cache.js';
import { loadPrompts } from '../../personalize/prompts.js';
import { checkCaptionable } from '../../personalize/verbalize.js';
import { captionerCommandOption, openCaptioner, type OpenedCaptioner } from '../captioner-option.js';
import { booleanOption, stringOption, type Command, type CommandContext } from '../command.js';
import { keywordCacheChoice, keywordCacheOptions, llmCommandOptions, llmSettings, openChosenKeywordCache } from '../llm-options.js';
import { intOption } from '../option-values.js';

export { readPmgConfig, type PmgConfig } from '../llm-options.js';

interface Inputs {
  scene: Scene;
  history: History;
  target?: Target;
  /** Folder that relative image paths are read from. */
  baseDir: string;
}

async function readInputs(context: CommandContext): Promise<Inputs> {
  const dataset = stringOption(context, 'dataset');
  const sceneFlag = stringOption(context, 'scene');
  if (sceneFlag !== undefined && !scenes.includes(sceneFlag as Scene)) {
    throw new PmgError('invalid-argument', `unknown scene '${sceneFlag}'; use --scene ${scenes.join('|')}`);
  }
  const cwd = context.io.cwd;
  if (dataset !== undefined) {
    if (dataset !== 'movielens') throw new PmgError('invalid-argument', `unknown dataset '${dataset}'; pmg keywords supports --dataset movielens`);
    for (const flag of ['history', 'target']) {
      if (stringOption(context, flag) !== undefined)
        throw new PmgError('invalid-argument', `--${flag} cannot be combined with --dataset; the dataset gives the history and target`);
    }
    if (sceneFlag !== undefined && sceneFlag !== 'movie')
      throw new PmgError('invalid-argument', `--dataset movielens is the movie scene; drop --scene ${sceneFlag}`);
    const data = stringOption(context, 'data');
    const user = stringOption(context, 'user');
    if (!data) throw new PmgError('invalid-argument', '--dataset movielens needs --data DIR (the ml-latest-small folder with ratings.csv and movies.csv)');
    if (!user) throw new PmgError('invalid-argument', '--dataset movielens needs --user ID');
    const sample = movieLensSampleForUser(await loadMovieLens(resolve(cwd, data)), user);
    return { scene: 'movie', history: sample.history, target: sample.target, baseDir: cwd };
  }
  for (const flag of ['data', 'user']) {
    if (stringOption(context, flag) !== undefined) throw new PmgError('invalid-argument', `--${flag} is only used with --dataset movielens`);
  }
  if (sceneFlag === undefined) throw new PmgError('invalid-argument', `missing --scene; use --scene ${scenes.join('|')}`);
  const historyFile = stringOption(context, 'history');
  if (!historyFile) throw new PmgError('invalid-argument', 'missing --history FILE (a JSON list of items, or {"items": [...], "conversation": [...]})');
  const history = readHistoryFile(resolve(cwd, historyFile));
  const targetFile = stringOption(context, 'target');
  const target = targetFile ? readTargetFile(resolve(cwd, targetFile)) : undefined;
  return { scene: sceneFlag as Scene, history, target, baseDir: dirname(resolve(cwd, historyFile)) };
}

function formatText(result: KeywordResult): string {
  const lines =
    result.scene === 'sticker'
      ? [`character: ${result.preference.join(', ')}`, `emotion, expression, posture: ${result.target.join('; ') || '(no conversation given)'}`]
      : [`preference: ${result.preference.join(', ')}`, `target: ${result.target.join(', ') || '(no target given)'}`];
  return `${lines.join('\n')}\n`;
}

export const keywordsCommand: Command = {
  name: 'keywords',
  summary: "ask an LLM for a user's preference keywords and the target's keywords",
  usage: '--scene movie|fashion|sticker --history FILE [--target FILE] [--llm SPEC] [--json]',
  details: [
    'Examples:',
    '  pmg keywords --scene movie --history h.json --target t.json --llm onnx:./models/my-llm',
    '  pmg keywords --scene fashion --history h.json --llm openai:http://127.0.0.1:8080/v1 --llm-model qwen2.5 --json',
    '  pmg keywords --dataset movielens --data ./ml-latest-small --user 1 --llm onnx:./models/my-llm',
    'The LLM comes from --llm, else "llm" in pmg.config.json (or --config FILE).',
    'Answers are cached in <PMG_CACHE_DIR or ~/.cache/pmg>/keywords.sqlite unless --no-cache.',
    'The remote API key is read from PMG_LLM_API_KEY.',
  ].join('\n'),
  options: {
    scene: { type: 'string', value: 'SCENE', description: 'movie, fashion or sticker' },
    history: { type: 'string', value: 'FILE', description: 'history JSON: a list of items or {"items", "conversation"}' },
    target: { type: 'string', value: 'FILE', description: 'target JSON: one item (stickers: {"conversation": [...]})' },
    llm: llmCommandOptions.llm,
    'llm-model': llmCommandOptions['llm-model'],
    count: { type: 'string', value: 'N', description: 'preference keywords wanted, 1-50 (default: 8)' },
    variant: { type: 'string', value: 'V', description: `prompt variant: ${keywordVariants.join(', ')} (default: single)` },
    prompts: { type: 'string', value: 'DIR', description: 'folder of prompt templates that override the shipped ones' },
    ...keywordCacheOptions,
    config: llmCommandOptions.config,
    json: { type: 'boolean', description: 'print the result as JSON (keywords, prompts, raw answers, model, cached)' },
    dataset: { type: 'string', value: 'NAME', description: 'build history and target from a dataset: movielens' },
    data: { type: 'string', value: 'DIR', description: 'dataset folder (with --dataset)' },
    user: { type: 'string', value: 'ID', description: 'user id in the dataset (with --dataset)' },
    ...captionerCommandOption,
  },
  async run(context) {
    const { io } = context;
    const variant = (stringOption(context, 'variant') ?? 'single') as KeywordVariant;
    if (!keywordVariants.includes(variant)) {
      throw new PmgError('invalid-argument', `unknown --variant '${variant}'; use ${keywordVariants.join(', ')}`);
    }
    const count = intOption(context, 'count', { min: 1, max: 50, fallback: 8 });
    const cacheChoice = keywordCacheChoice(context);
    const { scene, history, target, baseDir } = await readInputs(context);
    checkCaptionable(history.items, stringOption(context, 'captioner') !== undefined);
    if (scene === 'sticker' && variant !== 'single') {
      throw new PmgError('invalid-argument', `the sticker scene uses the official two prompts only; drop --variant ${variant}`);
    }
    const promptsDir = stringOption(context, 'prompts');
    const prompts = loadPrompts({ dir: promptsDir === undefined ? undefined : resolve(io.cwd, promptsDir) });
    const settings = llmSettings(context);
    const spec = settings.llm;
    if (!spec) {
      throw new PmgError(
        'invalid-argument',
        'no LLM configured; pass --llm onnx:<folder or repo id> or --llm openai:<base URL> --llm-model NAME, or set "llm" in pmg.config.json',
      );
    }

    const llm = await createLanguageModel(spec, {
      llmModel: settings.llmModel,
      apiKey: commandSettings(context, { config: true }).llm.apiKey,
      settings: commandSettings(context, { config: true }),
      offline: context.globals.offline,
    });
    let cache: KeywordCache | undefined;
    let captioner: OpenedCaptioner | undefined;
    try {
      captioner = await openCaptioner(context, baseDir);
      cache = openChosenKeywordCache(cacheChoice, commandSettings(context, { config: true }));
      const result = await extractKeywords({ scene, history, target, llm, prompts, cache, count, variant, captioner: captioner.captionImage });
      io.stdout.write(booleanOption(context, 'json') ? `${JSON.stringify(result, null, 2)}\n` : formatText(result));
      return 0;
    } finally {
      cache?.close();
      await captioner?.close();
      await llm.close?.();
    }
  },
};
