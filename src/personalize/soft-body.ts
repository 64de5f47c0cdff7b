/**
 * Which LLM body a soft module runs on when none is named: the `llm-body/` folder of a models folder, as
 * `pmg models fixtures` writes it. The CLI (`--soft` without `--llm-body`) and the job service (a named soft module)
 * both take it from here.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The folder of a models folder that holds the LLM body. */
export const FOLDER_LLM_BODY = 'llm-body';

/** `<modelsFolder>/llm-body` when it is a folder, else undefined (also for no models folder, e.g. a preset). */
export function modelsFolderLlmBody(modelsFolder: string | undefined): string | undefined {
  if (modelsFolder === undefined) return undefined;
  const dir = join(modelsFolder, FOLDER_LLM_BODY);
  return existsSync(dir) && statSync(dir).isDirectory() ? dir : undefined;
}
