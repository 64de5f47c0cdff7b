/**
 * The shape of a CLI command. Each command lives in its own file under cli/commands/ and is
 * listed in cli/commands/index.ts. Options are parsed with node:util parseArgs (strict), so an
 * unknown flag is a clear error; `--help` on any command prints its usage from this spec.
 */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Shown in --help; say what the value is and the default. */
  description: string;
  /** Placeholder shown in --help, e.g. 'FILE' or 'N'. */
  value?: string;
  multiple?: boolean;
  default?: string | boolean;
}

export interface CommandIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface GlobalFlags {
  debug: boolean;
  offline: boolean;
}

export interface CommandContext {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
  io: CommandIo;
  globals: GlobalFlags;
}

export interface Command {
  /** Words that select it, e.g. 'keywords' or 'models pull'. */
  name: string;
  summary: string;
  /** Usage line after `pmg <name> `, e.g. '--scene movie --history FILE [--json]'. */
  usage: string;
  /** More text for --help (examples, notes). */
  details?: string;
  options: Record<string, OptionSpec>;
  /** Allowed positional arguments; undefined means none. */
  positionals?: { name: string; description: string; min?: number; max?: number };
  /** Returns the exit code (0 when omitted). */
  run(context: CommandContext): Promise<number | void>;
}

/** Read a string option; undefined when absent. */
export function stringOption(context: CommandContext, name: string): string | undefined {
  const value = context.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function booleanOption(context: CommandContext, name: string): boolean {
  return context.values[name] === true;
}
