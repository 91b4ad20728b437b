import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { ErrorCode, HooktunnelError } from '../errors.js';
import { closest } from './suggest.js';
import { configSchema, isSecretPath, type ProjectConfig } from './schema.js';

/** The names `hooktunnel` looks for, in this order, in the working directory and then in each parent. */
export const CONFIG_NAMES = ['hooktunnel.yaml', 'hooktunnel.yml', 'hooktunnel.json'] as const;

/** A loaded config: the validated contents, where it came from, and warnings to show. */
export interface LoadedConfig {
  readonly file: string;
  /** The folder relative paths in the file are taken from. */
  readonly dir: string;
  readonly config: ProjectConfig;
  readonly warnings: readonly string[];
}

/** The nearest config file from `start` upwards, or undefined. */
export function findConfigFile(start = process.cwd()): string | undefined {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    for (const name of CONFIG_NAMES) {
      const file = join(dir, name);
      if (existsSync(file)) return file;
    }
    if (dirname(dir) === dir) return undefined;
  }
}

type Path = readonly (string | number)[];

function pathText(path: Path): string {
  return path.reduce<string>((text, p) => (typeof p === 'number' ? `${text}[${p}]` : text ? `${text}.${p}` : p), '') || '(top level)';
}

/** Reads, expands and validates a config file; throws a HooktunnelError naming file, line and field. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new HooktunnelError(ErrorCode.InvalidArgument, `cannot read config ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const lines = new LineCounter();
  // JSON is YAML: one parser, and positions for both.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const name = basename(file);
  const where = (node: Node | undefined, path: Path): string => {
    const at = node?.range ? lines.linePos(node.range[0]) : undefined;
    return `${name}${at ? `:${at.line}:${at.col}` : ''}: ${pathText(path)}`;
  };
  const first = doc.errors[0];
  if (first) {
    const at = lines.linePos(first.pos[0]);
    throw new HooktunnelError(ErrorCode.InvalidArgument, `${name}:${at.line}:${at.col}: not valid ${name.endsWith('.json') ? 'JSON' : 'YAML'}: ${first.message.split('\n')[0]}`);
  }
  const problems: string[] = [];
  const secretsInGit: string[] = [];
  const raw = expand(doc, env, (node, path, message) => problems.push(`${where(node, path)}: ${message}`), (node, path) => secretsInGit.push(where(node, path)));
  if (problems.length > 0) throw new HooktunnelError(ErrorCode.InvalidArgument, problems.join('\n'));
  const parsed = configSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new HooktunnelError(ErrorCode.InvalidArgument, parsed.error.issues.map((i) => describeIssue(doc, i, where)).join('\n'));
  const warnings: string[] = [];
  if (secretsInGit.length > 0 && trackedByGit(file)) {
    for (const w of secretsInGit) warnings.push(`${w} is a literal secret in a file git tracks: write \${NAME} and set NAME in the environment`);
  }
  return { file, dir: dirname(file), config: parsed.data, warnings };
}

/** A path in the file made absolute against the config's folder. */
export function fromConfigDir(loaded: LoadedConfig, path: string): string {
  return isAbsolute(path) ? path : join(loaded.dir, path);
}

const VARIABLE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * The document as plain data, with `${NAME}` (or `${NAME:-default}`) in every string replaced from `env`; `$$` is
 * a literal `$`. An unset variable without a default is reported at its line. A secret field whose value is not
 * wholly made of references is reported to `literalSecret`.
 */
function expand(doc: Document, env: NodeJS.ProcessEnv, problem: (node: Node, path: Path, message: string) => void, literalSecret: (node: Node, path: Path) => void): unknown {
  const walk = (node: unknown, path: Path): unknown => {
    if (isMap(node)) {
      const out: Record<string, unknown> = {};
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        out[key] = walk(pair.value, [...path, key]);
      }
      return out;
    }
    if (isSeq(node)) return node.items.map((item, i) => walk(item, [...path, i]));
    if (isScalar(node)) {
      if (typeof node.value !== 'string') return node.value;
      const value = node.value;
      if (isSecretPath(path) && value.replace(VARIABLE, '').trim() !== '') literalSecret(node, path);
      return value.replace(VARIABLE, (whole, name: string | undefined, fallback: string | undefined) => {
        if (whole === '$$') return '$';
        const set = env[name!];
        if (set !== undefined && set !== '') return set;
        if (fallback !== undefined) return fallback;
        problem(node, path, `\${${name}} is not set in the environment`);
        return '';
      });
    }
    return node ?? undefined;
  };
  return walk(doc.contents, []);
}

function nodeAt(doc: Document, path: Path): Node | undefined {
  return (path.length === 0 ? doc.contents : doc.getIn(path, true)) as Node | undefined;
}

/** One validation issue as `file:line:col: path: what is wrong (what is expected)`. */
function describeIssue(doc: Document, issue: z.core.$ZodIssue, where: (node: Node | undefined, path: Path) => string): string {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const map = nodeAt(doc, path);
    const known = knownKeys(path);
    return issue.keys.map((key) => {
      const pair = isMap(map) ? map.items.find((p) => isScalar(p.key) && String(p.key.value) === key) : undefined;
      const guess = closest(key, known);
      return `${where(pair?.key as Node | undefined, path)}: unknown key "${key}"${guess ? ` (did you mean "${guess}"?)` : ''}; known keys: ${known.join(', ')}`;
    }).join('\n');
  }
  const node = nodeAt(doc, path) ?? nodeAt(doc, path.slice(0, -1));
  let message = issue.message.replace(/^Invalid input: /, '');
  if (issue.code === 'invalid_value' && 'values' in issue) message = `expected one of ${issue.values.map(String).join(', ')}`;
  if (issue.code === 'invalid_union') message = unionMessage(path);
  if (issue.code === 'invalid_type' && issue.input === undefined) message = `is required (${message})`;
  return `${where(node, path)}: ${message}`;
}

function unionMessage(path: Path): string {
  const last = path[path.length - 1];
  if (last === 'to') return 'expected a target: a port (3000), host:port or a URL (http://localhost:3000/base)';
  if (last === 'timeout' || path.includes('delays')) return 'expected a duration such as 500ms, 2s or 1m';
  if (last === 'method') return 'expected a method or a list of methods';
  if (path[0] === 'verify') return 'expected a secret or a list of secrets';
  return 'not a value this field takes';
}

/** The keys the schema knows at `path` (for suggestions). */
function knownKeys(path: Path): string[] {
  let schema: unknown = configSchema;
  const unwrap = (s: any): any => {
    for (;;) {
      const def = s?._zod?.def;
      if (def?.type === 'optional' || def?.type === 'nullable' || def?.type === 'default') s = def.innerType;
      else if (def?.type === 'pipe') s = def.in;
      else return s;
    }
  };
  for (const p of path) {
    const s = unwrap(schema);
    const def = s?._zod?.def;
    if (def?.type === 'object') schema = def.shape[p as string];
    else if (def?.type === 'record') schema = def.valueType;
    else if (def?.type === 'array') schema = def.element;
    else return [];
  }
  const def = unwrap(schema)?._zod?.def;
  return def?.type === 'object' ? Object.keys(def.shape) : [];
}

/** Whether git tracks `file` (false where git is absent or the folder is no repository). */
function trackedByGit(file: string): boolean {
  const r = spawnSync('git', ['ls-files', '--error-unmatch', basename(file)], { cwd: dirname(file), stdio: 'ignore' });
  return r.status === 0;
}
