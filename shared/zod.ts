/**
 * The validator of shared/: zod's `zod/mini`, the same schemas and checks as full zod behind
 * a functional API (`z.optional(z.string())` for `z.string().optional()`) that bundles only
 * what the schemas use, about a tenth of full zod in a Lambda bundle (docs/adr/0011-bundles.md).
 * Unlike full zod, zod/mini sets no locale itself: English is set here, so that an issue's
 * message is the same as full zod's ("Invalid input: expected string, received number").
 */

import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());

export * from 'zod/mini';
