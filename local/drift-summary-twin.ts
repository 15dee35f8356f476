import type { CaptureObjects } from '#adapters/parquet-capture-partitions.ts';
import type { StateMachineRunner } from './state-machine-runner.ts';
import type { AslDefinition, AslState } from './state-machines.ts';

/**
 * The drift-summary machine on the twin. aws-local-stepfunctions has no Distributed mode
 * (`ItemReader`, `ItemBatcher`, `ResultWriter`), so the twin does the Map's part itself — lists
 * the items (the plan's DynamoDB partitions, or the objects under the plan's S3 prefix, as the
 * ItemReader would), applies the Map's `ItemSelector` — and runs every other piece from the
 * synthesized definition: the `Plan` and `Reduce` states, the `Source?` choice, and the Map's
 * item processor (the child definition) once per partition.
 */

type Json = Record<string, unknown>;

/** `$.a.b` / `$$.Map.Item.Value.Key` against `root`: the only paths the definition uses here. */
function at(root: unknown, path: string, prefix: '$' | '$$.Map.Item.Value'): unknown {
  const rest = path.slice(prefix.length);
  if (rest !== '' && !rest.startsWith('.')) throw new Error(`unsupported path ${path}`);
  let v = root;
  for (const k of rest.split('.').filter(Boolean)) v = (v as Json | undefined)?.[k];
  return v;
}

/** A Map's `ItemSelector` for one item (`"k.$"` paths on the state input or the item). */
function select(selector: Json, input: unknown, item: unknown): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(selector)) {
    if (!k.endsWith('.$')) {
      out[k] = v;
      continue;
    }
    const path = String(v);
    out[k.slice(0, -2)] = path.startsWith('$$.Map.Item.Value')
      ? at(item, path, '$$.Map.Item.Value')
      : at(input, path, '$');
  }
  return out;
}

/** `{ "$.a": x }` applied as a ResultPath. */
function withResult(input: unknown, resultPath: string, result: unknown): Json {
  const keys = resultPath
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean);
  if (keys.length !== 1) throw new Error(`unsupported ResultPath ${resultPath}`);
  return { ...(input as Json), [keys[0]]: result };
}

/** One state of the definition as a machine of its own (its Catch and Next left to the caller). */
function alone(def: AslDefinition, name: string): AslDefinition {
  const { Next: _n, Catch: _c, End: _e, ...state } = def.States[name] as AslState & Json;
  return { StartAt: name, States: { [name]: { ...state, End: true } as AslState } };
}

/** The state a Choice goes to for `input` (StringEquals on `$.…`, else Default). */
function choose(state: Json, input: unknown): string {
  for (const c of (state.Choices ?? []) as Json[]) {
    if (typeof c.StringEquals === 'string' && at(input, String(c.Variable), '$') === c.StringEquals)
      return String(c.Next);
  }
  if (typeof state.Default !== 'string') throw new Error('Choice without a matching branch or Default');
  return state.Default;
}

export interface LocalDriftSummaryResult {
  /** The machine's final state: `{ model, plan, summaries, report }`. */
  readonly output: Json;
  /** The Map state that ran (`SummarizeShards` or `SummarizeObjects`) and its items. */
  readonly map: string;
  readonly items: readonly unknown[];
}

/**
 * Runs the synthesized drift-summary machine for `model`: Plan, then the chosen Map over the
 * partitions (children `concurrency` at a time), then Reduce; a failing state fails the run as
 * the machine's Catch would (the error is thrown, nothing is reported).
 * @param objects the capture objects the S3 ItemReader would list (the twin's artifact directory)
 */
export async function runDriftSummaryLocally(
  runner: StateMachineRunner,
  opts: { readonly model: string; readonly objects?: CaptureObjects; readonly concurrency?: number },
): Promise<LocalDriftSummaryResult> {
  const def = runner.definition('driftSummary');
  let state = def.StartAt;
  let data: Json = { model: opts.model };
  let map = '';
  let items: unknown[] = [];
  for (;;) {
    const s = def.States[state] as AslState & Json;
    if (s.Type === 'Succeed') return { output: data, map, items };
    if (s.Type === 'Fail') throw new Error(`drift summary failed in ${state}`);
    if (s.Type === 'Choice') {
      state = choose(s, data);
      continue;
    }
    if (s.Type === 'Map') {
      map = state;
      const reader = s.ItemReader as { Parameters?: Json } | undefined;
      if (reader) {
        if (!opts.objects) throw new Error('the S3 branch needs the capture objects to list');
        const prefix = String(at(data, String(reader.Parameters?.['Prefix.$']), '$'));
        items = (await opts.objects.list(prefix)).map((Key) => ({ Key }));
      } else {
        items = (at(data, String(s.ItemsPath), '$') as unknown[]) ?? [];
      }
      const processor = s.ItemProcessor as AslDefinition;
      const child: AslDefinition = { StartAt: processor.StartAt, States: processor.States };
      const results: unknown[] = new Array(items.length);
      let next = 0;
      const worker = async () => {
        while (next < items.length) {
          const i = next++;
          results[i] = await runner.runDefinition(child, select(s.ItemSelector as Json, data, items[i]));
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker));
      data = withResult(data, String(s.ResultPath), results);
    } else if (s.Type === 'Task') {
      const out = await runner.runDefinition(alone(def, state), data);
      data = out as Json;
    } else {
      throw new Error(`state ${state}: type ${String(s.Type)} is not part of the drift-summary machine`);
    }
    if (typeof s.Next !== 'string') return { output: data, map, items };
    state = s.Next;
  }
}
