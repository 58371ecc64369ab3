/**
 * A serverless plugin (serverless.yml `plugins:`): merges the CloudFormation parts listed in
 * `custom.resourceFiles` into `resources`, as osls merges a `resources:` list, so that a
 * concern with many resources (resources/observability.yml: alarms, dashboard, log group,
 * exports, linters' accepted findings) lives in a file of its own while serverless.yml keeps
 * its `resources:` block as it is (a list would re-indent the whole block, and Biome formats
 * YAML). osls resolves the files' variables with the rest of the configuration; this plugin
 * merges them when a command initializes, before packaging compiles the template. Objects merge
 * key by key (a part can add `Export` to an output serverless.yml declares); anything else in a
 * part replaces what was there. `extensions` merge too, and osls applies them as usual.
 *
 * TypeScript that Node 24 runs as it is; osls loads it through require().
 */

type Part = Record<string, unknown>;

export interface Serverless {
  service: { custom?: { resourceFiles?: unknown }; resources?: Part | null };
  classes: { Error: new (message: string) => Error };
}

const isObject = (value: unknown): value is Part =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `part` merged into `base`, objects key by key; returns `base`. */
export function mergeInto(base: Part, part: Part): Part {
  for (const [key, value] of Object.entries(part)) {
    const current = base[key];
    base[key] = isObject(current) && isObject(value) ? mergeInto(current, value) : value;
  }
  return base;
}

/** The service's resources with every listed part merged in, in order. */
export function mergeResourceFiles(service: Serverless['service'], fail: (message: string) => Error): void {
  const parts = service.custom?.resourceFiles ?? [];
  if (!Array.isArray(parts))
    throw fail('custom.resourceFiles must be a list of parts, each a file(…) variable.');
  let resources: Part = isObject(service.resources) ? service.resources : {};
  for (const [index, part] of parts.entries()) {
    if (!isObject(part))
      throw fail(
        `custom.resourceFiles[${index}] is not a CloudFormation part (an object with Resources, Outputs, …).`,
      );
    resources = mergeInto(resources, part);
  }
  service.resources = resources;
}

export default class ResourceFiles {
  readonly hooks: Record<string, () => void>;

  constructor(serverless: Serverless) {
    this.hooks = {
      initialize: () =>
        mergeResourceFiles(serverless.service, (message) => new serverless.classes.Error(message)),
    };
  }
}
