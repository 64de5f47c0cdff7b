/**
 * Finds the command words in a `pmg` command line wherever flags stand: `pmg --offline demo`,
 * `pmg demo --offline` and `pmg models --offline pull ID` all select the same command with the same
 * flags. Flags before (or between) the command words are moved behind them, in their order, so the
 * command's own strict parser checks them as usual (a flag the command does not know is still an error).
 */
import type { Command, OptionSpec } from './command.js';

export interface CommandLine {
  /** The command the words name; undefined when they name none (or no word was given). */
  command?: Command;
  /** The non-flag words read while looking for the command (e.g. ['models'] for a bare group). */
  words: string[];
  /** Every other argument, flags first as they came before the command, then what followed it. */
  args: string[];
}

/**
 * Splits `argv` into the command and its arguments. `globals` are the flags every command takes; a
 * flag before the command takes a value when any command (or `globals`) declares it a string option.
 */
export function splitCommandLine(argv: readonly string[], commands: readonly Command[], globals: Record<string, OptionSpec>): CommandLine {
  const takesValue = valueFlags(commands, globals);
  const groups = new Set(commands.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0]!));
  const before: string[] = [];
  const words: string[] = [];
  let index = 0;
  for (; index < argv.length; index++) {
    const token = argv[index]!;
    if (token === '--') break;
    if (token.startsWith('-') && token !== '-') {
      before.push(token);
      if (!token.includes('=') && takesValue.has(token) && index + 1 < argv.length) before.push(argv[++index]!);
      continue;
    }
    words.push(token);
    // A group ('models') needs its subcommand word; any other word ends the search.
    if (!(words.length === 1 && groups.has(token))) {
      index++;
      break;
    }
  }
  const rest = argv.slice(index);
  const name = words.join(' ');
  const command = commands.find((c) => c.name === name);
  if (command) return { command, words, args: [...before, ...rest] };
  return { words, args: [...before, ...rest] };
}

/** `--name` and `-x` spellings of every string option. */
function valueFlags(commands: readonly Command[], globals: Record<string, OptionSpec>): Set<string> {
  const flags = new Set<string>();
  for (const options of [globals, ...commands.map((c) => c.options)]) {
    for (const [name, spec] of Object.entries(options)) {
      if (spec.type !== 'string') continue;
      flags.add(`--${name}`);
      if (spec.short) flags.add(`-${spec.short}`);
    }
  }
  return flags;
}
