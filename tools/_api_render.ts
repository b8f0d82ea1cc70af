/**
 * Private to `tools/api_report.ts`: renders the symbols of one module, as `deno doc --json` gives
 * them (schema version 2), to the text of an API report.
 *
 * One block per declaration, names sorted, written like a `.d.ts` without bodies: `function`,
 * `class`, `interface`, `type`, `const`/`let`/`var`, `enum` and `namespace`. Members of classes,
 * interfaces and object types are sorted too (static first, after constructors, call and index
 * signatures); enum members and overloads keep their order. The implementation signature behind
 * overloads is left out, as are `private` members. An object type after `: ` or `= ` is written
 * one member a line, and so is a union there when its line would pass 100 columns.
 *
 * Doc text, file names and line numbers are never written. Items tagged `@deprecated` or
 * `@internal` get the tag as a prefix. A type node of a kind this file does not know is written
 * as `<?kind: repr>`, and a type deno doc did not give (an uninferred initializer) as `<?>`.
 *
 * @module
 */

/** A type node: `kind` decides the shape of `value`. */
export interface TsType {
  kind: string;
  repr?: string;
  value?: unknown;
}
interface TypeParam {
  name: string;
  constraint?: TsType;
  default?: TsType;
}
interface Param {
  kind: string;
  name?: string;
  optional?: boolean;
  readonly?: boolean;
  accessibility?: string;
  tsType?: TsType;
  left?: Param;
  arg?: Param;
  props?: { kind: string; key?: string; arg?: Param }[];
  elements?: (Param | null)[];
}
interface JsDoc {
  tags?: { kind: string }[];
}
/** A function, method, constructor, call or index signature (the fields vary by place). */
interface Sig {
  name?: string;
  kind?: string;
  jsDoc?: JsDoc;
  params?: Param[];
  returnType?: TsType;
  tsType?: TsType;
  typeParams?: TypeParam[];
  hasBody?: boolean;
  optional?: boolean;
  readonly?: boolean;
  isStatic?: boolean;
  isAbstract?: boolean;
  accessibility?: string;
  functionDef?: Sig;
}
interface Members {
  constructors?: Sig[];
  callSignatures?: Sig[];
  indexSignatures?: Sig[];
  properties?: Sig[];
  methods?: Sig[];
}
interface ClassDef extends Members {
  isAbstract?: boolean;
  typeParams?: TypeParam[];
  extends?: string;
  superTypeParams?: TsType[];
  implements?: TsType[];
}
/** One declaration of a name: `kind` decides the shape of `def`. */
export interface Declaration {
  kind: string;
  jsDoc?: JsDoc;
  def?: unknown;
}
/** One exported name with its declarations (several for overloads or merged declarations). */
export interface DocSymbol {
  name: string;
  declarations: Declaration[];
}

/** Code-unit order, case-insensitive first, so that the order never depends on the locale. */
export function compareNames(a: string, b: string): number {
  const x = a.toLowerCase(), y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : a < b ? -1 : a > b ? 1 : 0;
}

const list = (types: TsType[] | undefined, sep: string): string =>
  (types ?? []).map(renderType).join(sep);
const typeArgs = (types: TsType[] | undefined): string =>
  types?.length ? `<${list(types, ", ")}>` : "";

function typeParams(params: TypeParam[] | undefined): string {
  if (!params?.length) return "";
  return `<${
    params.map((p) =>
      p.name + (p.constraint ? ` extends ${renderType(p.constraint)}` : "") +
      (p.default ? ` = ${renderType(p.default)}` : "")
    ).join(", ")
  }>`;
}

function literal(
  v: { kind: string; string?: string; number?: number; boolean?: boolean },
  t: TsType,
): string {
  switch (v.kind) {
    case "string":
      return JSON.stringify(v.string);
    case "number":
      return String(v.number);
    case "bigInt":
      return `${v.string}n`;
    case "boolean":
      return String(v.boolean);
    case "template": {
      const parts = (v as { tsTypes?: TsType[] }).tsTypes ?? [];
      return "`" + parts.map((p) => {
        const s = p.value as { kind?: string; string?: string } | undefined;
        return p.kind === "literal" && s?.kind === "string" ? s.string : `\${${renderType(p)}}`;
      }).join("") + "`";
    }
    default:
      return unknown(`literal ${v.kind}`, t);
  }
}

const unknown = (kind: string, t: TsType): string => `<?${kind}: ${t.repr ?? ""}>`;

/** Renders a type node as TypeScript source. */
export function renderType(t: TsType | undefined): string {
  if (!t) return "<?>";
  // The shape of `value` depends on `kind`; each case reads the fields deno doc gives for it.
  // deno-lint-ignore no-explicit-any
  const v = t.value as any;
  switch (t.kind) {
    case "keyword":
    case "typeQuery":
      return (t.kind === "typeQuery" ? "typeof " : "") + String(v);
    case "this":
      return "this";
    case "typeRef":
      return v.typeName + typeArgs(v.typeParams);
    case "union":
      return list(v, " | ");
    case "intersection":
      return list(v, " & ");
    case "array":
      return `${renderType(v)}[]`;
    case "tuple":
      return `[${list(v, ", ")}]`;
    case "optional":
      return `${renderType(v)}?`;
    case "rest":
      return `...${renderType(v)}`;
    case "parenthesized":
      return `(${renderType(v)})`;
    case "literal":
      return literal(v, t);
    case "typeOperator":
      return `${v.operator} ${renderType(v.tsType)}`;
    case "indexedAccess":
      return `${renderType(v.objType)}[${renderType(v.indexType)}]`;
    case "conditional":
      return `${renderType(v.checkType)} extends ${renderType(v.extendsType)} ? ` +
        `${renderType(v.trueType)} : ${renderType(v.falseType)}`;
    case "infer":
      return `infer ${typeParams([v.typeParam]).slice(1, -1)}`;
    case "fnOrConstructor":
      return `${v.constructor ? "new " : ""}${typeParams(v.typeParams)}(${params(v.params)}) => ` +
        renderType(v.tsType);
    case "typeLiteral": {
      const lines = memberLines(v);
      return lines.length ? `{ ${lines.join("; ")} }` : "{}";
    }
    case "mapped": {
      const mod = (m: unknown, word: string) =>
        m === true ? word : m === "+" || m === "-" ? m + word : "";
      const as = v.nameType ? ` as ${renderType(v.nameType)}` : "";
      return `{ ${mod(v.readonly, "readonly ")}[${v.typeParam.name} in ${
        renderType(v.typeParam.constraint)
      }${as}]${mod(v.optional, "?")}: ${renderType(v.tsType)} }`;
    }
    case "importType":
      return `import(${JSON.stringify(v.specifier)})${v.qualifier ? `.${v.qualifier}` : ""}` +
        typeArgs(v.typeParams);
    case "typePredicate":
      return (v.asserts ? "asserts " : "") + (v.param.type === "this" ? "this" : v.param.name) +
        (v.type ? ` is ${renderType(v.type)}` : "");
    default:
      return unknown(t.kind, t);
  }
}

/** A parameter's name or binding pattern, as written in a declaration file. */
function binding(p: Param | undefined): string {
  if (!p) return "<?>";
  switch (p.kind) {
    case "identifier":
      return p.name ?? "<?>";
    case "rest":
      return `...${binding(p.arg)}`;
    case "assign":
      return binding(p.left);
    case "object":
      return `{ ${(p.props ?? []).map((q) => q.key ?? `...${binding(q.arg)}`).join(", ")} }`;
    case "array":
      return `[${(p.elements ?? []).map((e) => (e ? binding(e) : "")).join(", ")}]`;
    default:
      return `<?param ${p.kind}>`;
  }
}

/** One parameter: a default value makes it optional (the default itself is not part of the API). */
function param(p: Param): string {
  const inner = p.kind === "assign" && p.left ? p.left : p;
  const optional = p.kind === "assign" || inner.optional ? "?" : "";
  const mods = (p.accessibility && p.accessibility !== "private" ? `${p.accessibility} ` : "") +
    (p.readonly ? "readonly " : "");
  return `${mods}${binding(p)}${optional}: ${renderType(inner.tsType ?? p.tsType)}`;
}

const params = (ps: Param[] | undefined): string => (ps ?? []).map(param).join(", ");

/** The tags this report shows, as a prefix: `@deprecated `, `@internal `. */
function tags(doc: JsDoc | undefined): string {
  const kinds = new Set((doc?.tags ?? []).map((t) => t.kind));
  return ["deprecated", "internal"].filter((k) => kinds.has(k)).map((k) => `@${k} `).join("");
}

/** Drops implementation signatures that stand behind overloads (the ones with a body). */
function publicOverloads<T>(items: T[], sig: (item: T) => Sig, key: (item: T) => string): T[] {
  const overloaded = new Set(items.filter((i) => !sig(i).hasBody).map(key));
  return items.filter((i) => !(sig(i).hasBody && overloaded.has(key(i))));
}

const KIND_RANK: Record<string, number> = { property: 0, getter: 1, setter: 2, method: 3 };

/** The member lines of a class, an interface or an object type, without indentation. */
function memberLines(m: Members, inClass = false): string[] {
  const head: string[] = [];
  const ctors = publicOverloads(m.constructors ?? [], (c) => c, () => "ctor");
  for (const c of ctors) {
    const access = c.accessibility && c.accessibility !== "public" ? `${c.accessibility} ` : "";
    head.push(
      tags(c.jsDoc) + access + (inClass ? "constructor" : "new") + typeParams(c.typeParams) +
        `(${params(c.params)})` + (inClass ? "" : `: ${renderType(c.returnType)}`),
    );
  }
  for (const s of m.callSignatures ?? []) {
    head.push(`${typeParams(s.typeParams)}(${params(s.params)}): ${renderType(s.tsType)}`);
  }
  for (const s of m.indexSignatures ?? []) {
    head.push(`${s.readonly ? "readonly " : ""}[${params(s.params)}]: ${renderType(s.tsType)}`);
  }
  const named: { key: [number, string, number]; line: string }[] = [];
  for (const p of m.properties ?? []) {
    if (p.accessibility === "private") continue;
    const line = `${p.name}${p.optional ? "?" : ""}: ${renderType(p.tsType)}`;
    named.push({ key: [p.isStatic ? 0 : 1, p.name ?? "", 0], line: modifiers(p) + line });
  }
  const sigOf = (x: Sig): Sig => x.functionDef ?? x;
  const methods = publicOverloads(
    (m.methods ?? []).filter((x) => x.accessibility !== "private"),
    sigOf,
    (x) => `${x.isStatic ? "static " : ""}${x.kind} ${x.name}`,
  );
  for (const x of methods) {
    const f = sigOf(x);
    const ps = `(${params(f.params)})`;
    const line = x.kind === "getter"
      ? `get ${x.name}${ps}: ${renderType(f.returnType)}`
      : x.kind === "setter"
      ? `set ${x.name}${ps}`
      : `${x.name}${x.optional ? "?" : ""}${typeParams(f.typeParams)}${ps}: ${
        renderType(f.returnType)
      }`;
    named.push({
      key: [x.isStatic ? 0 : 1, x.name ?? "", KIND_RANK[x.kind ?? ""] ?? 4],
      line: modifiers(x) + line,
    });
  }
  // A stable sort: overloads of one name keep their order.
  named.sort((a, b) =>
    a.key[0] - b.key[0] || compareNames(a.key[1], b.key[1]) || a.key[2] - b.key[2]
  );
  return [...head, ...named.map((n) => n.line)];
}

function modifiers(s: Sig): string {
  return tags(s.jsDoc) + (s.accessibility === "protected" ? "protected " : "") +
    (s.isStatic ? "static " : "") + (s.isAbstract ? "abstract " : "") +
    (s.readonly ? "readonly " : "");
}

/** `head {`, the lines indented, `}`; or `head {}` when there are none. */
function block(head: string, lines: string[]): string[] {
  return lines.length ? [`${head} {`, ...lines.map((l) => `  ${l}`), "}"] : [`${head} {}`];
}

/** Past this width a union written after `: ` or `= ` is written one member a line. */
const WIDTH = 100;

/** A type written after `: ` or `= `, one member a line when it is an object type or a long union. */
function typeBlock(head: string, t: TsType | undefined): string[] {
  if (t?.kind === "typeLiteral") return block(head, memberLines(t.value as Members));
  const line = `${head} ${renderType(t)}`;
  if (t?.kind !== "union" || line.length <= WIDTH) return [line];
  return [head, ...(t.value as TsType[]).map((u) => `  | ${renderType(u)}`)];
}

/** Finds the declaration a `reference` (an `export * as ns` element) points to, if deno doc gave it. */
export type ResolveReference = (target: unknown) => Declaration | undefined;

/** The lines of one declaration of `name`. */
function declarationLines(name: string, d: Declaration, resolve: ResolveReference): string[] {
  // The shape of `def` depends on `kind`, as for type nodes.
  // deno-lint-ignore no-explicit-any
  const def = (d.def ?? {}) as any;
  const tag = tags(d.jsDoc);
  switch (d.kind) {
    case "function":
      return [
        `${tag}function ${name}${typeParams(def.typeParams)}(${params(def.params)}): ${
          renderType(def.returnType)
        }`,
      ];
    case "variable":
      return typeBlock(`${tag}${def.kind ?? "var"} ${name}:`, def.tsType);
    case "typeAlias":
      return typeBlock(`${tag}type ${name}${typeParams(def.typeParams)} =`, def.tsType);
    case "interface": {
      const ext = def.extends?.length ? ` extends ${list(def.extends, ", ")}` : "";
      return block(`${tag}interface ${name}${typeParams(def.typeParams)}${ext}`, memberLines(def));
    }
    case "class": {
      const c = def as ClassDef;
      const ext = c.extends ? ` extends ${c.extends}${typeArgs(c.superTypeParams)}` : "";
      const impl = c.implements?.length ? ` implements ${list(c.implements, ", ")}` : "";
      const head = `${tag}${c.isAbstract ? "abstract " : ""}class ${name}` +
        typeParams(c.typeParams) + ext + impl;
      return block(head, memberLines(c, true));
    }
    case "enum":
      return block(
        `${tag}enum ${name}`,
        (def.members ?? []).map((m: { name: string; init?: TsType }) =>
          m.name + (m.init ? ` = ${renderType(m.init)}` : "")
        ),
      );
    case "namespace":
      return block(`${tag}namespace ${name}`, symbolLines(def.elements ?? [], resolve, false));
    case "reference": {
      const target = resolve(def.target);
      return target ? declarationLines(name, target, resolve) : [`${tag}reference ${name} <?>`];
    }
    default:
      return [`${tag}<?${d.kind}> ${name}`];
  }
}

/** The lines of every symbol, sorted by name; top-level blocks are separated by blank lines. */
function symbolLines(symbols: DocSymbol[], resolve: ResolveReference, top: boolean): string[] {
  const out: string[] = [];
  for (const s of [...symbols].sort((a, b) => compareNames(a.name, b.name))) {
    const decls = publicOverloads(
      s.declarations,
      (d) => (d.kind === "function" ? d.def as Sig : {}),
      (d) => d.kind,
    );
    for (const d of decls) {
      if (top && out.length) out.push("");
      out.push(...declarationLines(s.name, d, resolve));
    }
  }
  return out;
}

/**
 * Renders the report of one entry point: a header naming the entry and counting its exported
 * names, then a blank line and one block per declaration. The text ends with a newline.
 */
export function renderReport(
  title: string,
  symbols: DocSymbol[],
  resolve: ResolveReference = () => undefined,
): string {
  const names = new Set(symbols.map((s) => s.name)).size;
  return [
    `# API report: ${title}: ${names} exported names`,
    "# Generated from `deno doc --json` by tools/api_report.ts; update with `deno task api`.",
    "",
    ...symbolLines(symbols, resolve, true),
  ].join("\n") + "\n";
}
