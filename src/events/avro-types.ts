/**
 * Type-level mapping from an Avro schema literal to the TypeScript type of its values, as avsc
 * reads and writes them. `defineEvent` infers the schema literal, so an event's payload type is
 * never written by hand.
 *
 * Covered: primitives, records, enums, arrays, maps, fixed, unions, logical types (typed as their
 * underlying type). A reference to a named type by its name string maps to `unknown`.
 */

export type AvroPrimitiveName = 'null' | 'boolean' | 'int' | 'long' | 'float' | 'double' | 'bytes' | 'string';

export interface AvroField {
  readonly name: string;
  readonly type: AvroSchema;
  readonly default?: unknown;
  readonly doc?: string;
  readonly aliases?: readonly string[];
}

export interface AvroRecordSchema {
  readonly type: 'record';
  readonly name: string;
  readonly namespace?: string;
  readonly doc?: string;
  readonly fields: readonly AvroField[];
}

export type AvroSchema =
  | AvroPrimitiveName
  | string
  | readonly AvroSchema[]
  | AvroRecordSchema
  | { readonly type: 'enum'; readonly name: string; readonly symbols: readonly string[] }
  | { readonly type: 'array'; readonly items: AvroSchema }
  | { readonly type: 'map'; readonly values: AvroSchema }
  | { readonly type: 'fixed'; readonly name: string; readonly size: number }
  | { readonly type: AvroPrimitiveName; readonly logicalType?: string };

/**
 * The value type avsc produces when it decodes data of schema `S`. A schema typed only as the
 * general AvroSchema (not a literal) gives `unknown`, which also keeps tsc from recursing forever.
 */
export type AvroValue<S> = [AvroSchema] extends [S] ? unknown : ValueOf<S>;

type ValueOf<S> = S extends 'null'
  ? null
  : S extends 'boolean'
    ? boolean
    : S extends 'int' | 'long' | 'float' | 'double'
      ? number
      : S extends 'bytes'
        ? Buffer
        : S extends 'string'
          ? string
          : S extends readonly (infer Branch)[]
            ? ValueOf<Branch>
            : S extends { readonly type: 'record'; readonly fields: infer Fields extends readonly AvroField[] }
              ? RecordOutput<Fields>
              : S extends { readonly type: 'enum'; readonly symbols: readonly (infer Symbol)[] }
                ? Symbol
                : S extends { readonly type: 'array'; readonly items: infer Item }
                  ? AvroValue<Item>[]
                  : S extends { readonly type: 'map'; readonly values: infer Value }
                    ? Record<string, AvroValue<Value>>
                    : S extends { readonly type: 'fixed' }
                      ? Buffer
                      : S extends { readonly type: infer Underlying }
                        ? AvroValue<Underlying>
                        : unknown;

/**
 * The value type avsc accepts when it encodes data of schema `S`: like `AvroValue`, but record
 * fields that declare a default may be left out.
 */
export type AvroInput<S> = [AvroSchema] extends [S] ? unknown : InputOf<S>;

type InputOf<S> = S extends { readonly type: 'record'; readonly fields: infer Fields extends readonly AvroField[] }
  ? RecordInput<Fields>
  : S extends readonly (infer Branch)[]
    ? InputOf<Branch>
    : S extends { readonly type: 'array'; readonly items: infer Item }
      ? AvroInput<Item>[]
      : S extends { readonly type: 'map'; readonly values: infer Value }
        ? Record<string, AvroInput<Value>>
        : AvroValue<S>;

type RecordOutput<Fields extends readonly AvroField[]> = Simplify<{
  -readonly [Field in Fields[number] as Field['name']]: AvroValue<Field['type']>;
}>;

type RecordInput<Fields extends readonly AvroField[]> = Simplify<
  {
    -readonly [Field in Fields[number] as Field extends { readonly default: unknown } ? never : Field['name']]: AvroInput<
      Field['type']
    >;
  } & {
    -readonly [Field in Fields[number] as Field extends { readonly default: unknown } ? Field['name'] : never]?: AvroInput<
      Field['type']
    >;
  }
>;

type Simplify<T> = { [Key in keyof T]: T[Key] } & {};
