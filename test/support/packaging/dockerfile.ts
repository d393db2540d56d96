/**
 * The Dockerfile as data (stages and their COPY instructions), so tests can check what the image
 * build reads from the repository and what the runtime image holds without a Docker engine.
 */
export interface CopyInstruction {
  /** The stage copied from (`--from`), or undefined for the build context. */
  readonly from: string | undefined;
  readonly sources: string[];
  readonly destination: string;
}

export interface Stage {
  readonly base: string;
  readonly name: string | undefined;
  readonly copies: CopyInstruction[];
  readonly instructions: { readonly keyword: string; readonly rest: string }[];
}

/** Instructions with line continuations joined and comments dropped. */
function instructions(text: string): { keyword: string; rest: string }[] {
  const joined = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const match = /^(\S+)\s*(.*)$/.exec(line);
      return { keyword: (match?.[1] ?? '').toUpperCase(), rest: match?.[2] ?? '' };
    });
}

/** The build arguments declared before the first FROM, with their defaults. */
export function globalArgs(text: string): Map<string, string> {
  const args = new Map<string, string>();
  for (const { keyword, rest } of instructions(text)) {
    if (keyword === 'FROM') break;
    const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(rest);
    if (keyword === 'ARG' && match?.[1] !== undefined) args.set(match[1], (match[2] ?? '').replace(/^"(.*)"$/, '$1'));
  }
  return args;
}

/** Stages with their bases as built without --build-arg (global ARG defaults substituted). */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const args = globalArgs(text);
  const expand = (word: string): string => word.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (whole, name: string) => args.get(name) ?? whole);
  for (const { keyword, rest } of instructions(text)) {
    if (keyword === 'FROM') {
      const match = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      stages.push({ base: expand(match?.[1] ?? rest), name: match?.[2], copies: [], instructions: [] });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (stage === undefined) continue; // ARG before the first FROM
    stage.instructions.push({ keyword, rest });
    if (keyword === 'COPY') {
      const words = rest.split(/\s+/);
      const flags = words.filter((w) => w.startsWith('--'));
      const paths = words.filter((w) => !w.startsWith('--'));
      const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
      stage.copies.push({ from, sources: paths.slice(0, -1), destination: paths[paths.length - 1] ?? '' });
    }
  }
  return stages;
}
