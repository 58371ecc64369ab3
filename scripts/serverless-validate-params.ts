/**
 * A serverless plugin (serverless.yml `plugins:`) that makes `package`, `deploy` and `deploy
 * function` refuse deployment parameters that would break the deployed functions: a value
 * the functions would refuse at INIT (checked with shared/settings.ts, the one definition of
 * what each accepts, on the environment the functions get), and a `--param` that
 * serverless.yml does not declare (a typo that would silently leave the default). Each
 * problem is one line naming the parameter and what is accepted. TypeScript that Node 24 runs
 * as it is, as osls loads it through require().
 */
import { DEPLOYMENT_PARAMETERS, parameterProblems } from '../shared/settings.ts';

/** The parts of osls's Serverless instance this plugin reads. */
export interface Serverless {
  classes: { Error: new (message: string) => Error };
  configurationInput?: { params?: Record<string, Record<string, unknown> | null> };
  processedInput: { commands: string[]; options: { param?: string[] } };
  service: {
    provider: { environment?: Record<string, unknown> };
    functions?: Record<string, { environment?: Record<string, unknown> }>;
  };
}

export interface ParameterInput {
  /** Each function's environment, as deployed (the provider's, merged with its own). */
  environments: Record<string, unknown>[];
  /** The parameter names serverless.yml declares, for any stage. */
  declared: string[];
  /** The `--param` options, `name=value` each. */
  cliParams: string[];
}

/** One line per problem; none when the parameters are good. */
export function parameterErrors({ environments, declared, cliParams }: ParameterInput): string[] {
  const lines = new Set<string>();
  for (const option of cliParams) {
    const name = option.split('=')[0] ?? option;
    if (!declared.includes(name))
      lines.add(
        `Parameter ${name} is not one of snap2ami's (serverless.yml params:); accepted: ${declared.join(', ')}.`,
      );
  }
  for (const environment of environments) {
    const env = Object.fromEntries(
      Object.entries(environment).map(([name, value]) => [name, value == null ? undefined : String(value)]),
    );
    for (const { parameter, value, problem } of parameterProblems(env))
      lines.add(`Parameter ${parameter}=${JSON.stringify(value ?? '')} is refused: ${problem}.`);
  }
  return [...lines];
}

/** The commands that build or deploy what the parameters configure. */
const CHECKED_COMMANDS = new Set(['package', 'deploy', 'deploy function']);

export default class ValidateParams {
  readonly hooks: Record<string, () => void>;

  constructor(serverless: Serverless) {
    // `initialize` runs before any command's own steps (and after every variable is
    // resolved): deploy fails here, before it reads or changes anything in AWS.
    this.hooks = {
      initialize: () => {
        if (!CHECKED_COMMANDS.has(serverless.processedInput.commands.join(' '))) return;
        const { provider, functions = {} } = serverless.service;
        const stages = Object.values(serverless.configurationInput?.params ?? {});
        const errors = parameterErrors({
          environments: Object.values(functions).map((fn) => ({
            ...provider.environment,
            ...fn.environment,
          })),
          declared: [
            ...new Set([
              ...Object.keys(DEPLOYMENT_PARAMETERS),
              ...stages.flatMap((params) => Object.keys(params ?? {})),
            ]),
          ],
          cliParams: serverless.processedInput.options.param ?? [],
        });
        if (errors.length > 0) throw new serverless.classes.Error(errors.join('\n'));
      },
    };
  }
}
