/**
 * The validator of shared/: zod's `zod/mini`, the same schemas and checks as full zod behind
 * a functional API (`z.optional(z.string())` for `z.string().optional()`) that bundles only
 * what the schemas use, about a tenth of full zod in a Lambda bundle (docs/adr/0011-bundles.md).
 * Unlike full zod, zod/mini sets no locale itself: English is set here, so that an issue's
 * message is the same as full zod's ("Invalid input: expected string, received number").
 */

import { en } from 'zod/locales';
import { config, type ZodMiniType } from 'zod/mini';

config(en());

export * from 'zod/mini';

/** A JSON text read by a schema: undefined when there is none, or when it is not JSON or not of the schema. */
export function parseJson<T>(schema: ZodMiniType<T>, text: string | undefined): T | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
