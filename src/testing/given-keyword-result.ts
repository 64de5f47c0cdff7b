/** A keyword result as if an LLM had answered (model `given`, not cached), for tests that skip the LLM stage. */
import type { KeywordResult } from '../personalize/extract-keywords.js';

export function givenKeywordResult(preference: string[], target: string[]): KeywordResult {
  return { scene: 'movie', preference, target, prompts: {}, raw: {}, model: 'given', cached: false };
}
