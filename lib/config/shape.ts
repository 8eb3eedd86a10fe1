/**
 * A few builders that produce a JSON Schema and, from the same expression,
 * its TypeScript type. The config schema is written once with them: ajv
 * validates and fills defaults from the schema, and the compiler knows the
 * shape of the validated object without a second, hand-kept interface.
 */

/** A JSON Schema fragment that carries the type of what it validates. */
export interface Shape<T> {
  readonly schema: Record<string, unknown>;
  /** Phantom: never set, only read by `Infer`. */
  readonly __type?: T;
  /** Whether the property is always present after defaults are applied. */
  readonly present: boolean;
}

export type Infer<S> = S extends Shape<infer T> ? T : never;

interface Doc {
  description?: string;
}

function shape<T>(schema: Record<string, unknown>, present: boolean): Shape<T> {
  return { schema, present };
}

function withDefault<T>(base: Record<string, unknown>, opts: Doc & { default?: T }): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  if (opts.description) out.description = opts.description;
  if (opts.default !== undefined) out.default = opts.default;
  return out;
}

type Opts<T> = Doc & { default?: T; [k: string]: unknown };
type Maybe<T, O> = O extends { default: unknown } ? Shape<T> & { present: true } : Shape<T>;

export function str<O extends Opts<string>>(opts?: O): Maybe<string, O> {
  const { default: d, description, ...rest } = opts ?? ({} as O);
  return shape<string>(withDefault({ type: 'string', ...rest }, { default: d, description }), d !== undefined) as Maybe<string, O>;
}

export function int<O extends Opts<number>>(opts?: O): Maybe<number, O> {
  const { default: d, description, ...rest } = opts ?? ({} as O);
  return shape<number>(withDefault({ type: 'integer', ...rest }, { default: d, description }), d !== undefined) as Maybe<number, O>;
}

export function num<O extends Opts<number>>(opts?: O): Maybe<number, O> {
  const { default: d, description, ...rest } = opts ?? ({} as O);
  return shape<number>(withDefault({ type: 'number', ...rest }, { default: d, description }), d !== undefined) as Maybe<number, O>;
}

export function bool<O extends Opts<boolean>>(opts?: O): Maybe<boolean, O> {
  const { default: d, description, ...rest } = opts ?? ({} as O);
  return shape<boolean>(withDefault({ type: 'boolean' , ...rest }, { default: d, description }), d !== undefined) as Maybe<boolean, O>;
}

export function literalUnion<const V extends readonly (string | number)[], O extends Opts<V[number]>>(
  values: V,
  opts?: O,
): Maybe<V[number], O> {
  const { default: d, description } = opts ?? ({} as O);
  return shape<V[number]>(withDefault({ enum: [...values] }, { default: d, description }), d !== undefined) as Maybe<V[number], O>;
}

export function arr<I, O extends Opts<I[]>>(item: Shape<I>, opts?: O): Maybe<I[], O> {
  const { default: d, description, ...rest } = opts ?? ({} as O);
  return shape<I[]>(withDefault({ type: 'array', items: item.schema, ...rest }, { default: d, description }), d !== undefined) as Maybe<I[], O>;
}

/** An object whose values are free-form: passed through to a library as is. */
export function record<V, O extends Opts<Record<string, V>>>(value: Shape<V>, opts?: O): Maybe<Record<string, V>, O> {
  const { default: d, description } = opts ?? ({} as O);
  return shape<Record<string, V>>(
    withDefault({ type: 'object', additionalProperties: value.schema }, { default: d, description }),
    d !== undefined,
  ) as Maybe<Record<string, V>, O>;
}

/** Any JSON value. */
export function json(opts?: Doc): Shape<unknown> {
  return shape<unknown>(withDefault({}, { description: opts?.description }), false);
}

export function anyOf<A, B, O extends Opts<A | B>>(a: Shape<A>, b: Shape<B>, opts?: O): Maybe<A | B, O> {
  const { default: d, description } = opts ?? ({} as O);
  return shape<A | B>(withDefault({ anyOf: [a.schema, b.schema] }, { default: d, description }), d !== undefined) as Maybe<A | B, O>;
}

type Props = Record<string, Shape<unknown>>;
type PresentKeys<P extends Props> = { [K in keyof P]: P[K]['present'] extends true ? K : never }[keyof P];
type ObjType<P extends Props> = { -readonly [K in PresentKeys<P>]: Infer<P[K]> } & {
  -readonly [K in Exclude<keyof P, PresentKeys<P>>]?: Infer<P[K]>;
} extends infer T
  ? { [K in keyof T]: T[K] }
  : never;

/**
 * A closed object: unknown keys are errors. With `defaulted: true`, the object
 * defaults to `{}` so that the defaults of its own properties apply even when
 * the whole object is left out of the file.
 */
export function obj<P extends Props, D extends boolean = false>(
  props: P,
  opts?: Doc & { defaulted?: D; required?: (keyof P & string)[] },
): D extends true ? Shape<ObjType<P>> & { present: true } : Shape<ObjType<P>> {
  const properties: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(props)) properties[k] = v.schema;
  const schema: Record<string, unknown> = { type: 'object', properties, additionalProperties: false };
  if (opts?.required?.length) schema.required = opts.required;
  if (opts?.description) schema.description = opts.description;
  if (opts?.defaulted) schema.default = {};
  return shape<ObjType<P>>(schema, opts?.defaulted === true) as never;
}

/**
 * `shape`, with `required` properties whenever the object has the given
 * constant values (JSON Schema if/then), e.g. a port that one type of an
 * entry must give and another may leave to its default.
 */
export function requiredWhen<S extends Shape<unknown>>(base: S, when: Record<string, string>, required: string[]): S {
  const properties: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(when)) properties[k] = { const: v };
  return { ...base, schema: { ...base.schema, if: { properties, required: Object.keys(when) }, then: { required } } };
}

/** JSON null, e.g. EventGate's `output_path: null`. */
export function nul(): Shape<null> {
  return shape<null>({ type: 'null' }, false);
}

/** `anyOf` of three forms, e.g. an entry, a list of entries, or null. */
export function anyOf3<A, B, C, O extends Opts<A | B | C>>(a: Shape<A>, b: Shape<B>, c: Shape<C>, opts?: O): Maybe<A | B | C, O> {
  const { default: d, description } = opts ?? ({} as O);
  return shape<A | B | C>(withDefault({ anyOf: [a.schema, b.schema, c.schema] }, { default: d, description }), d !== undefined) as Maybe<A | B | C, O>;
}
