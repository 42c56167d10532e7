/**
 * A reader of Marathon's RAML type libraries (reference/marathon-api/raml/v2/types) that answers one question: which
 * fields of a JSON value does the named type not declare? It follows `uses:` aliases, inheritance (`type: App`),
 * arrays (`X[]`, `items`), unions (`A | B`), pattern properties (`/.*\/`) and optional markers (`name?`). Scalars are
 * checked for their JSON kind only. A type with no declared properties (`object`, `any`) accepts every field.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/** A RAML type declaration: a type expression, or an object with `type`, `properties`, `items`, ... */
export type Decl = string | null | { [key: string]: unknown };

interface Library {
  file: string;
  uses: Record<string, string>;
  types: Record<string, Decl>;
}

const SCALARS: Record<string, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  datetime: (v) => typeof v === 'string',
  'datetime-only': (v) => typeof v === 'string',
  'date-only': (v) => typeof v === 'string',
  integer: (v) => typeof v === 'number' && Number.isInteger(v),
  number: (v) => typeof v === 'number',
  boolean: (v) => typeof v === 'boolean',
  nil: (v) => v === null,
  any: () => true,
};

/** The RAML type libraries of one directory. */
export class RamlTypes {
  private readonly libs = new Map<string, Library>();

  constructor(dir: string) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.raml'))) {
      const doc = parse(readFileSync(join(dir, file), 'utf8'), {
        customTags: [{ tag: '!include', resolve: (s: string) => s }],
        logLevel: 'silent',
      }) as { uses?: Record<string, string>; types?: Record<string, Decl> } | null;
      this.libs.set(file, { file, uses: doc?.uses ?? {}, types: doc?.types ?? {} });
    }
  }

  /** Fields of `value` that the type `ref` (`file.raml#Name`) does not declare, as `/a/b(0)/c` paths. */
  undeclared(value: unknown, ref: string): string[] {
    const [file, name] = ref.split('#');
    const lib = this.libs.get(file);
    if (!lib || !(name in lib.types)) throw new Error(`no RAML type ${ref}`);
    const out: string[] = [];
    this.check(value, name, lib, '', out);
    return out;
  }

  /**
   * Fields of `value` that an inline declaration (RAML's shape: `{ properties: { 'a?': 'alias.Name' } }`) does not
   * declare; `uses` maps the aliases it mentions to library files, as a RAML file's `uses:` does.
   */
  undeclaredInline(value: unknown, decl: Decl, uses: Record<string, string>): string[] {
    const out: string[] = [];
    this.check(value, decl, { file: '(inline)', uses, types: {} }, '', out);
    return out;
  }

  /** Checks against a type expression (`Name`, `alias.Name`, `X[]`, `A | B`, a scalar) or an inline declaration. */
  private check(value: unknown, decl: Decl, lib: Library, path: string, out: string[]): void {
    if (decl === null || decl === undefined) return this.check(value, 'string', lib, path, out);
    if (typeof decl === 'string') return this.checkExpr(value, decl.trim(), lib, path, out);
    const d = decl;
    if (typeof d.type === 'string' && d.type.trim() === 'array') {
      if (!Array.isArray(value)) return void out.push(`${path || '/'}: expected an array`);
      value.forEach((item, i) => this.check(item, (d.items as Decl) ?? 'any', lib, `${path}(${i})`, out));
      return;
    }
    const props = this.properties(d, lib);
    if (props) return this.checkObject(value, props, path, out);
    if (d.type !== undefined) return this.check(value, d.type as Decl, lib, path, out);
    if (d.enum !== undefined) return this.check(value, 'string', lib, path, out);
  }

  private checkExpr(value: unknown, expr: string, lib: Library, path: string, out: string[]): void {
    const union = splitTop(expr, '|');
    if (union.length > 1) {
      let best: string[] | undefined;
      for (const alt of union) {
        const errs: string[] = [];
        this.checkExpr(value, alt.trim(), lib, path, errs);
        if (errs.length === 0) return;
        if (!best || errs.length < best.length) best = errs;
      }
      out.push(...(best ?? []));
      return;
    }
    if (expr.startsWith('(') && expr.endsWith(')')) return this.checkExpr(value, expr.slice(1, -1).trim(), lib, path, out);
    if (expr.endsWith('[]')) {
      if (!Array.isArray(value)) return void out.push(`${path || '/'}: expected an array`);
      value.forEach((item, i) => this.checkExpr(item, expr.slice(0, -2).trim(), lib, `${path}(${i})`, out));
      return;
    }
    if (expr === 'object') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) out.push(`${path || '/'}: expected an object`);
      return;
    }
    if (expr === 'array') {
      if (!Array.isArray(value)) out.push(`${path || '/'}: expected an array`);
      return;
    }
    if (SCALARS[expr]) {
      if (!SCALARS[expr](value)) out.push(`${path || '/'}: expected ${expr}, got ${JSON.stringify(value)}`);
      return;
    }
    const [target, name] = this.resolve(expr, lib);
    this.check(value, target.types[name], target, path, out);
  }

  /** `alias.Name` or `Name` to its library and name. */
  private resolve(expr: string, lib: Library): [Library, string] {
    const dot = expr.indexOf('.');
    if (dot > 0 && lib.uses[expr.slice(0, dot)]) {
      const target = this.libs.get(lib.uses[expr.slice(0, dot)]);
      if (target && expr.slice(dot + 1) in target.types) return [target, expr.slice(dot + 1)];
    }
    if (expr in lib.types) return [lib, expr];
    throw new Error(`${lib.file}: unknown RAML type '${expr}'`);
  }

  /**
   * The declared properties of an object declaration, its parents' included, each with the library it is declared
   * in; undefined for a declaration that is not an object with properties.
   */
  private properties(d: { [key: string]: unknown }, lib: Library): Map<string, [Decl, Library]> | undefined {
    const own = d.properties as Record<string, Decl> | undefined;
    let inherited: Map<string, [Decl, Library]> | undefined;
    if (typeof d.type === 'string' && !SCALARS[d.type] && d.type !== 'object' && !d.type.includes('|') && !d.type.endsWith('[]')) {
      const [target, name] = this.resolve(d.type.trim(), lib);
      const parent = target.types[name];
      if (parent && typeof parent === 'object') inherited = this.properties(parent, target);
    }
    if (!own && !inherited) return undefined;
    const out = new Map(inherited ?? []);
    for (const [key, v] of Object.entries(own ?? {})) out.set(key.replace(/\?$/, ''), [v, lib]);
    return out;
  }

  private checkObject(value: unknown, props: Map<string, [Decl, Library]>, path: string, out: string[]): void {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return void out.push(`${path || '/'}: expected an object`);
    const patterns = [...props.keys()].filter((k) => k.startsWith('/') && k.endsWith('/') && k.length >= 2);
    for (const [key, v] of Object.entries(value)) {
      const exact = props.get(key);
      if (exact && !(key.startsWith('/') && key.endsWith('/'))) {
        this.check(v, exact[0], exact[1], `${path}/${key}`, out);
        continue;
      }
      const pattern = patterns.find((p) => p === '//' || new RegExp(p.slice(1, -1)).test(key));
      if (pattern) {
        const [decl, lib] = props.get(pattern) as [Decl, Library];
        this.check(v, decl, lib, `${path}/${key}`, out);
        continue;
      }
      out.push(`${path}/${key}: not declared`);
    }
  }
}

/** Splits `s` on `sep` outside parentheses. */
function splitTop(s: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === sep && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}
