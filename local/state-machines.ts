import { type HANDLERS, RELEASE_TASKS, RETRAINING_TASKS, STATE_MACHINES } from '#contracts';

/** One state machine definition (ASL) from the synthesized template, with its functions resolved. */
export interface SynthesizedMachine {
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
    name in rule.inputPathsMap ? JSON.stringify(valueAt(rule.inputPathsMap[name]) ?? null) : m,
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

/** Pseudo parameters as the twin answers them (ARNs of service integrations name the partition). */
const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'local',
  'AWS::AccountId': '000000000000',
  'AWS::URLSuffix': 'amazonaws.com',
};

type Cfn = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/**
 * Reads the retraining state machine out of a synthesized Pipeline stack template: its
 * `DefinitionString` is an `Fn::Join` whose only intrinsics are the task functions'
 * `Fn::GetAtt [<logical id>, Arn]`. Each becomes a local ARN, mapped to the handler through the
 * function's `POWERTOOLS_SERVICE_NAME` (set from `RETRAINING_TASKS`), so tasks resolve by ARN to
 * the same handler modules Lambda runs.
 */
export function machineFromTemplate(
  template: { readonly [key: string]: unknown },
  id: string = STATE_MACHINES.retraining.id,
): SynthesizedMachine {
  const resources = (template.Resources ?? {}) as Cfn;
  // A logical id is the construct path's ids joined, then an 8-hex-digit hash.
  const machines = Object.entries(resources)
    .filter(
      ([logical, r]) => r.Type === 'AWS::StepFunctions::StateMachine' && logical.slice(0, -8).endsWith(id),
    )
    .map(([, r]) => r);
  if (machines.length !== 1)
    throw new Error(`expected one state machine '${id}' in the template, found ${machines.length}`);
  const byService = new Map<string, keyof typeof HANDLERS>(
    [...Object.values(RETRAINING_TASKS), ...Object.values(RELEASE_TASKS)].map((t) => [t.service, t.handler]),
  );
  const functions = new Map<string, keyof typeof HANDLERS>();
  const definition = machines[0].Properties?.DefinitionString as
    | { 'Fn::Join'?: [string, unknown[]] }
    | undefined;
  const join = definition?.['Fn::Join'];
  if (!join) throw new Error('DefinitionString is not an Fn::Join');
  const text = join[1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const ref = (part as { Ref?: string }).Ref;
      if (ref !== undefined && ref in PSEUDO) return PSEUDO[ref];
      // A child machine (`startExecution.sync`): its ARN names it by logical id locally.
      if (ref !== undefined && resources[ref]?.Type === 'AWS::StepFunctions::StateMachine')
        return `arn:aws:states:local:000000000000:stateMachine:${ref}`;
      const att = (part as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
      if (att?.[1] !== 'Arn')
        throw new Error(`unexpected intrinsic in the definition: ${JSON.stringify(part)}`);
      const fn = resources[att[0]];
      const env = (fn?.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
        ?.Variables;
      const handler = byService.get(String(env?.POWERTOOLS_SERVICE_NAME));
      if (!handler) throw new Error(`function ${att[0]} is not a task of a known machine`);
      const arn = localFunctionArn(att[0]);
      functions.set(arn, handler);
      return arn;
    })
    .join(join[0]);
  const eventRules: EventRule[] = Object.values(resources)
    .filter((r) => r.Type === 'AWS::Events::Rule' && r.Properties?.EventPattern)
    .flatMap((r) => {
      const p = r.Properties as {
        EventPattern: { source?: string[]; 'detail-type'?: string[] };
        Targets?: {
          InputTransformer?: { InputPathsMap?: Record<string, string>; InputTemplate?: unknown };
        }[];
      };
      return (p.Targets ?? []).flatMap((t) =>
        t.InputTransformer
          ? [
              {
                source: p.EventPattern.source ?? [],
                detailType: p.EventPattern['detail-type'] ?? [],
                inputPathsMap: t.InputTransformer.InputPathsMap ?? {},
                inputTemplate: templateText(t.InputTransformer.InputTemplate),
              },
            ]
          : [],
      );
    });
  return { definition: JSON.parse(text) as AslDefinition, functions, eventRules };
}

/** An input template is a string, or an `Fn::Join` of strings when CDK split it. */
const templateText = (t: unknown): string => {
  if (typeof t === 'string') return t;
  const join = (t as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join?.[1].every((x) => typeof x === 'string')) return join[1].join(join[0]);
  throw new Error(`unsupported input template: ${JSON.stringify(t)}`);
};
