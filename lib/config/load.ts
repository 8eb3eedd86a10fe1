import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import yaml from 'js-yaml';
import { EventGateError, messageOf } from '../errors';
import { normalizeConfig } from './normalize';
import { configNotes, type ConfigNote } from './notes';
import { eventsOnStdout } from './outputs';
import { configSchema, type Config, type RawConfig } from './schema';
import { didYouMean } from './suggest';

/** A validated, defaulted, frozen config and where it came from. */
export interface LoadedConfig {
  readonly config: Config;
  /** Absolute path of the file, or undefined for a config given inline. */
  readonly path?: string;
  /** Relative paths in the config (schema bases, output files) resolve here. */
  readonly dir: string;
  /** Accepted keys that have no effect here (service-runner, EventGate): logged once at start. */
  readonly notes?: readonly ConfigNote[];
}

// `{env(NAME)}` or `{env(NAME, default)}`, as service-runner substitutes them.
const ENV_PATTERN = /\{env\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:,\s*([^)]*?)\s*)?\)\}/g;

/**
 * Substitutes environment variables in the raw text, before YAML parsing, so
 * that `port: {env(PORT, 8192)}` becomes `port: 8192` and parses as a number,
 * as it does in service-runner. A variable that is unset and has no default is
 * a problem, not an empty string: an empty broker list or path would only fail
 * later and less clearly.
 */
export function substituteEnv(text: string, env: NodeJS.ProcessEnv, problems: string[]): string {
  return text.replace(ENV_PATTERN, (whole, name: string, fallback: string | undefined) => {
    const value = env[name];
    if (value !== undefined) return value;
    if (fallback !== undefined) return fallback.replace(/^(['"])(.*)\1$/, '$2');
    const line = text.slice(0, text.indexOf(whole)).split('\n').length;
    problems.push(`line ${line}: environment variable ${name} is not set and ${whole} has no default`);
    return '';
  });
}

// verbose: an unknown key's error carries its object's schema, whose keys "did you mean" looks through.
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true });
const validate = ajv.compile<RawConfig>(configSchema.schema);

/** `/services/0/conf/port` -> `services[0].conf.port` */
function pathOf(instancePath: string): string {
  if (!instancePath) return '(top level)';
  return instancePath
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

function describe(err: ErrorObject): string {
  const at = pathOf(err.instancePath);
  if (err.keyword === 'additionalProperties') {
    const key = (err.params as { additionalProperty: string }).additionalProperty;
    const known = Object.keys((err.parentSchema as { properties?: object } | undefined)?.properties ?? {});
    return `${at === '(top level)' ? key : `${at}.${key}`}: unknown key${didYouMean(key, known)}`;
  }
  if (err.keyword === 'enum') {
    const allowed = (err.params as { allowedValues: unknown[] }).allowedValues;
    return `${at}: must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return `${at}: ${err.message ?? 'is invalid'}`;
}

/** What a value of an anyOf must be, where ajv's "must match pattern" would only show a regular expression. */
const FORMS: Readonly<Record<string, string>> = {
  num_workers: 'a whole number, ncpu, or arithmetic of ncpu such as ncpu*2 or ncpu/2',
};

/**
 * ajv reports each branch of an anyOf. When the value has the type of one
 * branch only (metrics: a list, not an entry), that branch's own errors say
 * what is wrong, with their paths; otherwise one line per failed anyOf reads
 * better than each branch.
 */
function describeAll(errors: readonly ErrorObject[]): string[] {
  const anyOfs = errors.filter((e) => e.keyword === 'anyOf');
  const under = (a: ErrorObject, e: ErrorObject) => e.schemaPath.startsWith(a.schemaPath + '/');
  const lines: string[] = [];
  const described = new Set<ErrorObject>();
  for (const a of anyOfs) {
    // Branches by index: `#/.../anyOf/0/...`.
    const byBranch = new Map<string, ErrorObject[]>();
    for (const e of errors.filter((x) => under(a, x))) {
      const branch = e.schemaPath.slice(a.schemaPath.length + 1).split('/')[0];
      byBranch.set(branch, [...(byBranch.get(branch) ?? []), e]);
    }
    const fitting = [...byBranch.values()].filter((es) => !es.some((e) => e.keyword === 'type' && e.instancePath === a.instancePath));
    if (fitting.length === 1 && !FORMS[pathOf(a.instancePath)]) {
      for (const e of fitting[0]) if (e.keyword !== 'anyOf' && e.keyword !== 'if') lines.push(describe(e));
      for (const es of byBranch.values()) for (const e of es) described.add(e);
      described.add(a);
    }
  }
  for (const err of errors) {
    if (described.has(err) || anyOfs.some((a) => under(a, err))) continue;
    if (err.keyword === 'anyOf' && FORMS[pathOf(err.instancePath)]) {
      lines.push(`${pathOf(err.instancePath)}: must be ${FORMS[pathOf(err.instancePath)]}`);
    } else if (err.keyword === 'anyOf') {
      const forms = errors.filter((e) => under(err, e)).map((e) => (e.keyword === 'type' ? String((e.params as { type: string }).type) : (e.message ?? '')));
      lines.push(`${pathOf(err.instancePath)}: must be ${[...new Set(forms)].join(' or ')}`);
    } else if (err.keyword !== 'if') {
      lines.push(describe(err));
    }
  }
  return [...new Set(lines)];
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** `services[0].conf` of a parsed document as the file gives it, or {}. */
export function serviceConfOf(raw: unknown): Record<string, unknown> {
  const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const services = isRecord(raw) ? raw.services : undefined;
  const first: unknown = Array.isArray(services) ? services[0] : undefined;
  return isRecord(first) && isRecord(first.conf) ? first.conf : {};
}

/** A config document checked against the schema: the normalized config when it passed, every problem and note either way. */
export interface CheckedConfig {
  readonly config?: Config;
  readonly problems: string[];
  readonly notes: ConfigNote[];
}

/** Validates and normalizes a parsed config without throwing; `dir` resolves relative log file paths. */
export function checkConfig(raw: unknown, problems: string[] = [], dir?: string): CheckedConfig {
  const candidate: unknown = raw === null || raw === undefined ? {} : structuredClone(raw);
  const given = new Set(Object.keys(serviceConfOf(raw)));
  if (!validate(candidate)) {
    problems.push(...describeAll(validate.errors ?? []));
    // The checks past the schema read a valid config, but most of an invalid
    // one is still readable: a gelf log stream beside a misspelt key is two
    // problems for one run, not one per run. What they cannot read was
    // reported above already.
    const pathOf = (problem: string): string => problem.slice(0, problem.indexOf(':'));
    // One line per path: the schema's says it already.
    const seen = new Set(problems.map(pathOf));
    const more: string[] = [];
    try {
      const partial = normalizeConfig(candidate as RawConfig, dir, availableParallelism(), more, given);
      more.push(...semanticProblems(partial));
    } catch {
      // the schema's own problems say what is wrong here
    }
    problems.push(...more.filter((p) => !seen.has(pathOf(p))));
    return { problems, notes: [] };
  }
  const config = normalizeConfig(candidate, dir, availableParallelism(), problems, given);
  problems.push(...semanticProblems(config));
  return { config: problems.length ? undefined : deepFreeze(config), problems, notes: configNotes(candidate) };
}

/**
 * Validates a parsed config (filling defaults) and returns it normalized and
 * frozen, or throws EG_ERR_CONFIG_INVALID with every problem in `details`.
 */
export function validateConfig(raw: unknown, problems: string[] = [], dir?: string): Config {
  const checked = checkConfig(raw, problems, dir);
  if (!checked.config) {
    throw new EventGateError('EG_ERR_CONFIG_INVALID', `Config is invalid:\n  ${problems.join('\n  ')}`, { details: problems });
  }
  return checked.config;
}

/** Checks a JSON Schema cannot express. */
function semanticProblems(config: Config): string[] {
  const problems: string[] = [];
  const conf = config.services[0].conf;
  try {
    parseSize(conf.max_body_size);
  } catch (err) {
    problems.push(`services[0].conf.max_body_size: ${messageOf(err)}`);
  }
  if (config.logging.stream === 'stdout' && eventsOnStdout(config)) {
    problems.push('logging.stream: stdout would mix log lines into the events on stdout (output_path: stdout); use stderr, or another output_path');
  }

  const flags = new Set(config.debug_node_flags.map((f) => f.replaceAll('_', '-')));
  if (flags.has('--prof') && flags.has('--interpreted-frames-native-stack')) {
    // V8's tick sampler walks the stack in a signal handler; with this flag the
    // walk takes a code-space lock the interrupted thread may hold: the worker hangs for good.
    problems.push(
      'debug_node_flags: --prof and --interpreted-frames-native-stack together can deadlock a worker at startup (V8 bug); keep --prof, or drop --prof to use the other (docs/profiling.md)',
    );
  }
  return problems;
}

export const EMPTY_FILE = 'the file holds no YAML document (it is empty or only comments); write `{}` to run on every default';

/** The YAML document of a config text, env substituted; problems so far in `problems`. Throws on YAML that does not parse. */
export function parseConfigDocument(text: string, env: NodeJS.ProcessEnv, problems: string[]): unknown {
  const substituted = substituteEnv(text, env, problems);
  let raw: unknown;
  try {
    raw = yaml.load(substituted);
  } catch (err) {
    problems.push(`not valid YAML: ${messageOf(err)}`);
    throw new EventGateError('EG_ERR_CONFIG_INVALID', `Config is invalid:\n  ${problems.join('\n  ')}`, { details: problems });
  }
  // An empty file is a deploy gone wrong (a truncated copy, a template never
  // filled in), not a wish for every default: all defaults would listen on
  // 0.0.0.0:8192 with no schemas. `{}` says "defaults" on purpose.
  if (raw === null || raw === undefined) problems.push(EMPTY_FILE);
  return raw;
}

export function parseConfigText(text: string, env: NodeJS.ProcessEnv = process.env, dir?: string): Config {
  const problems: string[] = [];
  return validateConfig(parseConfigDocument(text, env, problems), problems, dir);
}

/** The text of a config file, or EG_ERR_CONFIG_READ. */
export async function readConfigText(absolute: string): Promise<string> {
  try {
    return await readFile(absolute, 'utf8');
  } catch (err) {
    throw new EventGateError('EG_ERR_CONFIG_READ', `Config file ${absolute} could not be read: ${messageOf(err)}`, {
      cause: err,
    });
  }
}

export async function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  const absolute = resolve(path);
  const text = await readConfigText(absolute);
  const dir = dirname(absolute);
  try {
    const problems: string[] = [];
    const checked = checkConfig(parseConfigDocument(text, env, problems), problems, dir);
    if (!checked.config) {
      throw new EventGateError('EG_ERR_CONFIG_INVALID', `Config is invalid:\n  ${problems.join('\n  ')}`, { details: problems });
    }
    return { config: checked.config, path: absolute, dir, notes: checked.notes };
  } catch (err) {
    if (err instanceof EventGateError) {
      throw new EventGateError(err.code, `${absolute}: ${err.message}`, { details: err.details });
    }
    throw err;
  }
}

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** `10mb` -> 10485760, as body-parser reads sizes. */
export function parseSize(size: number | string): number {
  if (typeof size === 'number') return size;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(size);
  if (!m) throw new EventGateError('EG_ERR_CONFIG_INVALID', `not a size: ${JSON.stringify(size)}`);
  const bytes = Math.floor(Number(m[1]) * SIZE_UNITS[(m[2] ?? 'b').toLowerCase()]);
  if (bytes < 1) throw new EventGateError('EG_ERR_CONFIG_INVALID', `must be at least 1 byte: ${JSON.stringify(size)}`);
  return bytes;
}
