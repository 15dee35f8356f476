import { type HANDLERS, STATE_MACHINES, type StateMachineKey, type TaskTable } from '#contracts';

/** One state machine definition (ASL) from the synthesized template, with its functions resolved. */
export interface SynthesizedMachine<K extends string = StateMachineKey> {
  /** Its key in `STATE_MACHINES`. */
  readonly key: K;
  /** Its local ARN (what a `Ref` to it resolves to): {@link localStateMachineArn}. */
  readonly arn: string;
  /** The ASL, with every function reference replaced by a local ARN. */
  readonly definition: AslDefinition;
  /** Local ARN → handler name (a key of `HANDLERS`). */
  readonly functions: ReadonlyMap<string, keyof typeof HANDLERS>;
  /** The EventBridge rules that start the machine from events, as synthesized. */
  readonly eventRules: readonly EventRule[];
}

/** A rule's pattern (source / detail-type) and its input transformer. */
export interface EventRule {
  readonly source: readonly string[];
  readonly detailType: readonly string[];
  readonly inputPathsMap: Readonly<Record<string, string>>;
  readonly inputTemplate: string;
}

/** The parts of an EventBridge event a rule reads. */
export interface BusEvent {
  readonly source: string;
  readonly 'detail-type': string;
  readonly detail: Record<string, unknown>;
  readonly [key: string]: unknown;
}

/**
 * What EventBridge does with a matching event: each `<name>` of the input template becomes the
 * JSON of the value at its path (`$.detail.model` …; a missing path gives null). Returns undefined
 * when the event does not match the pattern.
 */
export function applyRule(rule: EventRule, event: BusEvent): unknown {
  if (!rule.source.includes(event.source) || !rule.detailType.includes(event['detail-type']))
    return undefined;
  const valueAt = (path: string): unknown =>
    path
      .replace(/^\$\.?/, '')
      .split('.')
      .filter(Boolean)
      .reduce<unknown>(
        (v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
        event,
      );
  const text = rule.inputTemplate.replace(/<([A-Za-z0-9_.-]+)>/g, (m, name: string) =>
    name === 'aws.events.event'
      ? JSON.stringify(event)
      : name in rule.inputPathsMap
        ? JSON.stringify(valueAt(rule.inputPathsMap[name]) ?? null)
        : m,
  );
  return JSON.parse(text);
}

/** The parts of an ASL definition the runner and the tests read. */
export interface AslDefinition {
  readonly StartAt: string;
  readonly States: Record<string, AslState>;
  readonly [key: string]: unknown;
}
export interface AslState {
  readonly Type: string;
  readonly Resource?: string;
  readonly Parameters?: Record<string, unknown>;
  readonly Retry?: { ErrorEquals: string[] }[];
  readonly Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
  readonly [key: string]: unknown;
}

/** `arn:aws:lambda:local:000000000000:function:<logical id>`: what a function reference becomes locally. */
export const localFunctionArn = (logicalId: string) =>
  `arn:aws:lambda:local:000000000000:function:${logicalId}`;

/** `arn:aws:states:local:000000000000:stateMachine:<key>`: what a `Ref` to a machine becomes locally. */
export const localStateMachineArn = (key: string) => `arn:aws:states:local:000000000000:stateMachine:${key}`;

/** The key in a local machine ARN, or undefined for anything else. */
export const keyOfStateMachineArn = (arn: string): string | undefined =>
  /^arn:aws:states:local:000000000000:stateMachine:([^:]+)$/.exec(arn)?.[1];

/** What the runner needs of a `STATE_MACHINES` row: the construct id and the task table. */
export type MachineSpecs<K extends string> = Readonly<
  Record<K, { readonly id: string; readonly tasks: TaskTable }>
>;

/** Pseudo parameters as the twin answers them (ARNs of service integrations name the partition). */
const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'local',
  'AWS::AccountId': '000000000000',
  'AWS::URLSuffix': 'amazonaws.com',
};

type Cfn = Record<string, { Type: string; Properties?: Record<string, unknown> }>;
/** A synthesized template, as `Template.toJSON()` gives it. */
export type CfnTemplate = { readonly [key: string]: unknown };

/** Service name → handler, over every machine's task table (service names are unique). */
const handlerByService = <K extends string>(specs: MachineSpecs<K>): Map<string, keyof typeof HANDLERS> =>
  new Map(
    Object.values<MachineSpecs<K>[K]>(specs).flatMap((m) =>
      Object.values(m.tasks).map((t) => [t.service, t.handler] as const),
    ),
  );

/** The key whose construct id is the logical id less CDK's 8-hex-digit hash. */
const keyOfLogicalId = <K extends string>(specs: MachineSpecs<K>, logicalId: string): K | undefined =>
  (Object.keys(specs) as K[]).find((k) => new RegExp(`^${specs[k].id}[0-9A-F]{8}$`).test(logicalId));

/**
 * Reads every `AWS::StepFunctions::StateMachine` out of the synthesized templates (stack name →
 * template, the app's stack names, which `Fn::GetStackOutput` refers to: the release machine lives in the Pipeline stack, the drift-summary machine in the
 * Drift stack), keyed by its `STATE_MACHINES` key. A `DefinitionString` is an `Fn::Join` whose
 * intrinsics are resolved as the twin answers them:
 *
 * - `Fn::GetAtt [<function>, Arn]` → a local function ARN, mapped to the handler through the
 *   function's `POWERTOOLS_SERVICE_NAME` (a row of some machine's `tasks` table), so tasks
 *   resolve by ARN to the same handler modules Lambda runs; a function that is no task (say,
 *   one a machine only names) keeps its local ARN and maps to nothing;
 * - `Ref <state machine>` → {@link localStateMachineArn} of its key;
 * - `Fn::GetStackOutput` (the app's weak cross-stack references) → the output's value, resolved
 *   in the producing stack's template;
 * - pseudo parameters → the twin's partition, region and account; any other `Ref`/`GetAtt` →
 *   `local:<logical id>` (a name the runner cannot act on, but the definition stays parseable).
 *
 * `specs` defaults to `STATE_MACHINES` (tests pass machines of their own).
 *
 * @throws Error for a machine whose logical id matches no `specs` entry, or an
 *   intrinsic the twin cannot resolve
 */
export function machinesFromTemplates<K extends string = StateMachineKey>(
  templates: Readonly<Record<string, CfnTemplate>>,
  specs: MachineSpecs<K> = STATE_MACHINES as unknown as MachineSpecs<K>,
): Partial<Record<K, SynthesizedMachine<K>>> {
  const byService = handlerByService(specs);
  const out: Partial<Record<K, SynthesizedMachine<K>>> = {};
  const machineKeys = new Map<string, K>();
  for (const [stack, template] of Object.entries(templates)) {
    for (const [id, r] of Object.entries((template.Resources ?? {}) as Cfn)) {
      if (r.Type !== 'AWS::StepFunctions::StateMachine') continue;
      const key = keyOfLogicalId(specs, id);
      if (!key)
        throw new Error(
          `state machine ${id} in ${stack} matches no STATE_MACHINES id (construct id + hash): add it to lambdas/contracts.ts`,
        );
      machineKeys.set(`${stack}/${id}`, key);
    }
  }
  for (const [stack, template] of Object.entries(templates)) {
    const resources = (template.Resources ?? {}) as Cfn;
    for (const [id, r] of Object.entries(resources)) {
      if (r.Type !== 'AWS::StepFunctions::StateMachine') continue;
      const key = machineKeys.get(`${stack}/${id}`) as K;
      const functions = new Map<string, keyof typeof HANDLERS>();
      const resolve = (part: unknown, inStack: string): string => {
        if (typeof part === 'string') return part;
        const res = (templates[inStack]?.Resources ?? {}) as Cfn;
        const p = part as {
          Ref?: string;
          'Fn::GetAtt'?: [string, string];
          'Fn::GetStackOutput'?: { StackName: unknown; OutputName: unknown };
          'Fn::Join'?: [string, unknown[]];
        };
        if (p.Ref !== undefined) {
          if (p.Ref in PSEUDO) return PSEUDO[p.Ref];
          const target = res[p.Ref];
          if (target?.Type === 'AWS::StepFunctions::StateMachine')
            return localStateMachineArn(machineKeys.get(`${inStack}/${p.Ref}`) as string);
          if (target) return `local:${p.Ref}`;
          throw new Error(`Ref to ${p.Ref}, which ${inStack} does not define`);
        }
        if (p['Fn::GetAtt']) {
          const [logicalId, attr] = p['Fn::GetAtt'];
          const target = res[logicalId];
          if (!target) throw new Error(`Fn::GetAtt of ${logicalId}, which ${inStack} does not define`);
          if (target.Type === 'AWS::Lambda::Function' && attr === 'Arn') {
            const env = (
              target.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined
            )?.Variables;
            const arn = localFunctionArn(logicalId);
            const handler = byService.get(String(env?.POWERTOOLS_SERVICE_NAME));
            if (handler) functions.set(arn, handler);
            return arn;
          }
          if (target.Type === 'AWS::StepFunctions::StateMachine' && attr === 'Arn')
            return localStateMachineArn(machineKeys.get(`${inStack}/${logicalId}`) as string);
          return `local:${logicalId}.${attr}`;
        }
        if (p['Fn::GetStackOutput']) {
          const { StackName, OutputName } = p['Fn::GetStackOutput'];
          const producer = resolve(StackName, inStack);
          const outputs = (templates[producer]?.Outputs ?? {}) as Record<string, { Value: unknown }>;
          const output = outputs[resolve(OutputName, inStack)];
          if (!output)
            throw new Error(`Fn::GetStackOutput ${producer}.${String(OutputName)}: no such output`);
          return resolve(output.Value, producer);
        }
        if (p['Fn::Join']) {
          const [sep, parts] = p['Fn::Join'];
          return parts.map((x) => resolve(x, inStack)).join(sep);
        }
        throw new Error(`unexpected intrinsic in the definition of ${key}: ${JSON.stringify(part)}`);
      };
      const def = r.Properties?.DefinitionString;
      if (def === undefined) throw new Error(`state machine ${id} has no DefinitionString`);
      // `DefinitionSubstitutions` (`${name}` placeholders), resolved like the definition itself.
      const subs = (r.Properties?.DefinitionSubstitutions ?? {}) as Record<string, unknown>;
      const text = Object.entries(subs).reduce(
        (t, [name, value]) => t.split(`\${${name}}`).join(resolve(value, stack)),
        resolve(def, stack),
      );
      const arn = localStateMachineArn(key);
      const eventRules = Object.values(templates).flatMap((t) => rulesTargeting(t, id));
      out[key] = { key, arn, definition: JSON.parse(text) as AslDefinition, functions, eventRules };
    }
  }
  return out;
}

/**
 * The one machine `key` (default: retraining) of a single template.
 * @throws Error when the template does not hold it
 */
export function machineFromTemplate(
  template: CfnTemplate,
  key: StateMachineKey = 'retraining',
): SynthesizedMachine {
  const m = machinesFromTemplates({ template })[key];
  if (!m) throw new Error(`no ${key} state machine (${STATE_MACHINES[key].id}…) in the template`);
  return m;
}

/** The EventBridge rules of `template` (with an event pattern) that target the machine `logicalId`. */
function rulesTargeting(template: CfnTemplate, logicalId: string): EventRule[] {
  return Object.values((template.Resources ?? {}) as Cfn)
    .filter((r) => r.Type === 'AWS::Events::Rule' && r.Properties?.EventPattern)
    .flatMap((r) => {
      const p = r.Properties as {
        EventPattern: { source?: string[]; 'detail-type'?: string[] };
        Targets?: {
          Arn?: { Ref?: string };
          Input?: unknown;
          InputTransformer?: { InputPathsMap?: Record<string, string>; InputTemplate?: unknown };
        }[];
      };
      return (p.Targets ?? [])
        .filter((t) => t.Arn?.Ref === logicalId)
        .map((t) => ({
          source: p.EventPattern.source ?? [],
          detailType: p.EventPattern['detail-type'] ?? [],
          inputPathsMap: t.InputTransformer?.InputPathsMap ?? {},
          // A target without a transformer passes a constant Input, or else the whole event.
          inputTemplate: t.InputTransformer
            ? templateText(t.InputTransformer.InputTemplate)
            : t.Input !== undefined
              ? templateText(t.Input)
              : '<aws.events.event>',
        }));
    });
}

/** An input template is a string, or an `Fn::Join` of strings when CDK split it. */
const templateText = (t: unknown): string => {
  if (typeof t === 'string') return t;
  const join = (t as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join?.[1].every((x) => typeof x === 'string')) return join[1].join(join[0]);
  throw new Error(`unsupported input template: ${JSON.stringify(t)}`);
};
