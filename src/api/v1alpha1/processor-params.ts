/**
 * The params each builtin processor takes, read in one place: validation reports what is wrong
 * with them, and the runtime gets them already parsed, so both agree on what a param means.
 */
import type { BuiltinProcessor } from './types.js';

/** A path into a JSON record value: `user.address.country` → ['user', 'address', 'country']. */
export type FieldPath = readonly string[];

export interface FilterParams {
  /** Where the tested text is; undefined: the whole record value as UTF-8 text. */
  readonly field: FieldPath | undefined;
  readonly match: { readonly equals: string } | { readonly regex: RegExp };
}

export interface MapParams {
  /** The output value is a JSON object with one property per entry, taken from `path`. */
  readonly fields: readonly { readonly name: string; readonly path: FieldPath }[];
}

export interface WordcountParams {
  /** Where the text is; undefined: the whole record value as UTF-8 text. */
  readonly field: FieldPath | undefined;
  readonly lowercase: boolean;
}

export interface BuiltinParams {
  readonly passthrough: Record<string, never>;
  readonly filter: FilterParams;
  readonly map: MapParams;
  readonly wordcount: WordcountParams;
}

/** What is wrong with one param (`param` undefined: with the params as a whole). */
export interface ParamProblem {
  readonly param: string | undefined;
  readonly message: string;
}

export type ParamsResult<T> = { readonly ok: true; readonly params: T } | { readonly ok: false; readonly problems: readonly ParamProblem[] };

/** One documented param of a builtin processor. */
export interface ParamDoc {
  readonly name: string;
  readonly required: boolean;
  readonly description: string;
}

export const builtinParamDocs: Readonly<Record<BuiltinProcessor, readonly ParamDoc[]>> = {
  passthrough: [],
  filter: [
    { name: 'field', required: false, description: 'Dotted path of a field in the JSON record value to test; unset: the whole value as text. Required with equals.' },
    { name: 'equals', required: false, description: 'Keep records whose field, as text, equals this. Exactly one of equals or regex.' },
    { name: 'regex', required: false, description: 'Keep records whose field (or whole value) matches this JavaScript regular expression (Unicode mode). Exactly one of equals or regex.' },
  ],
  map: [
    { name: 'fields', required: true, description: 'Comma-separated entries `path` or `name=path`; the output value is a JSON object with one property per entry (named by `name`, or by the path\'s last segment).' },
  ],
  wordcount: [
    { name: 'field', required: false, description: 'Dotted path of a text field in the JSON record value; unset: the whole value as text.' },
    { name: 'lowercase', required: false, description: '`true` (default) or `false`: whether words are lower-cased before counting.' },
  ],
};

/** Parses `a.b.c`; undefined when a segment is empty. */
export function parseFieldPath(text: string): FieldPath | undefined {
  const segments = text.split('.');
  return segments.every((s) => s.length > 0) ? segments : undefined;
}

function unknownParams(builtin: BuiltinProcessor, params: Readonly<Record<string, string>>): ParamProblem[] {
  const known = new Set(builtinParamDocs[builtin].map((p) => p.name));
  const list = known.size === 0 ? 'takes no params' : `takes ${[...known].join(', ')}`;
  return Object.keys(params)
    .filter((name) => !known.has(name))
    .map((name) => ({ param: name, message: `unknown param: ${builtin} ${list}` }));
}

function optionalFieldPath(params: Readonly<Record<string, string>>, problems: ParamProblem[]): FieldPath | undefined {
  const text = params.field;
  if (text === undefined) return undefined;
  const path = parseFieldPath(text);
  if (path === undefined) problems.push({ param: 'field', message: `must be a dotted field path such as user.country, not "${text}"` });
  return path;
}

function result<T>(problems: readonly ParamProblem[], params: () => T): ParamsResult<T> {
  return problems.length > 0 ? { ok: false, problems } : { ok: true, params: params() };
}

function parseFilter(params: Readonly<Record<string, string>>): ParamsResult<FilterParams> {
  const problems = unknownParams('filter', params);
  const field = optionalFieldPath(params, problems);
  const { equals, regex } = params;
  let compiled: RegExp | undefined;
  if ((equals === undefined) === (regex === undefined)) {
    problems.push({ param: undefined, message: 'filter needs exactly one of equals or regex' });
  } else if (equals !== undefined && params.field === undefined) {
    problems.push({ param: 'field', message: 'filter with equals needs field' });
  } else if (regex !== undefined) {
    try {
      compiled = new RegExp(regex, 'u');
    } catch (err) {
      problems.push({ param: 'regex', message: `does not compile: ${err instanceof Error ? err.message : String(err)}` });
    }
  }
  return result(problems, () => ({
    field,
    match: compiled !== undefined ? { regex: compiled } : { equals: equals ?? '' },
  }));
}

function parseMap(params: Readonly<Record<string, string>>): ParamsResult<MapParams> {
  const problems = unknownParams('map', params);
  const text = params.fields;
  const fields: { name: string; path: FieldPath }[] = [];
  if (text === undefined || text.trim() === '') {
    problems.push({ param: 'fields', message: 'map needs fields: comma-separated entries path or name=path' });
  } else {
    for (const raw of text.split(',')) {
      const entry = raw.trim();
      const eq = entry.indexOf('=');
      const pathText = eq < 0 ? entry : entry.slice(eq + 1).trim();
      const path = parseFieldPath(pathText);
      const name = eq < 0 ? path?.at(-1) : entry.slice(0, eq).trim();
      if (path === undefined || name === undefined || name === '') {
        problems.push({ param: 'fields', message: `"${entry}" is not path or name=path` });
      } else if (fields.some((f) => f.name === name)) {
        problems.push({ param: 'fields', message: `output property "${name}" is named twice` });
      } else {
        fields.push({ name, path });
      }
    }
  }
  return result(problems, () => ({ fields }));
}

function parseWordcount(params: Readonly<Record<string, string>>): ParamsResult<WordcountParams> {
  const problems = unknownParams('wordcount', params);
  const field = optionalFieldPath(params, problems);
  const { lowercase = 'true' } = params;
  if (lowercase !== 'true' && lowercase !== 'false') problems.push({ param: 'lowercase', message: 'must be true or false' });
  return result(problems, () => ({ field, lowercase: lowercase === 'true' }));
}

/** Reads a builtin processor's params; the runtime uses the result, validation the problems. */
export function parseBuiltinParams<B extends BuiltinProcessor>(
  builtin: B,
  params: Readonly<Record<string, string>> = {},
): ParamsResult<BuiltinParams[B]> {
  const parsers: { readonly [K in BuiltinProcessor]: (p: Readonly<Record<string, string>>) => ParamsResult<BuiltinParams[K]> } = {
    passthrough: (p) => result(unknownParams('passthrough', p), () => ({})),
    filter: parseFilter,
    map: parseMap,
    wordcount: parseWordcount,
  };
  return parsers[builtin](params);
}
