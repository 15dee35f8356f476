/**
 * The steps of a state-machine execution, built from its history events (what the console's
 * retraining page and `GET /v1/models/{model}/retraining/{executionName}` show). Pure: the
 * Step Functions adapter and the twin each translate their own event shapes into
 * {@link StepEvent}s, and this one fold decides entry, exit, retries and outcome for both.
 */

/** Amazon States Language state types. */
export type StateType = 'Task' | 'Choice' | 'Wait' | 'Pass' | 'Parallel' | 'Map' | 'Succeed' | 'Fail';

/** How a step ended (or that it has not). */
export type StepOutcome = 'running' | 'succeeded' | 'failed' | 'caught' | 'aborted' | 'timed-out';

/** One top-level state the execution entered. */
export interface ExecutionStep {
  readonly name: string;
  readonly type: StateType;
  readonly enteredAt: string;
  /** Absent while it runs, and for a step the execution failed in (a Fail state never exits). */
  readonly exitedAt?: string;
  readonly outcome: StepOutcome;
  /** The error of its last failed attempt: why it failed, or what a Catch caught. */
  readonly error?: string;
  readonly cause?: string;
  /** The state entered after it (for a caught step: where the Catch went). */
  readonly next?: string;
  /** Attempts retried by the state's Retry (0 when it never failed). */
  readonly retries: number;
}

/** The steps of one execution. */
export interface ExecutionHistory {
  readonly steps: ExecutionStep[];
  /** True when the history had more events than were read ({@link MAX_HISTORY_EVENTS}). */
  readonly truncated: boolean;
}

/**
 * At most this many history events are read per execution (oldest first): a retraining
 * execution writes about a hundred; a longer history is cut and says so (`truncated`).
 */
export const MAX_HISTORY_EVENTS = 1000;

/**
 * One history event, in the terms the fold needs. `scope` says whose attempt an event is
 * about: a Task-like state's own (`task`: TaskFailed, a Fail state's error, the twin's
 * StateFailed) or a Map/Parallel state's (`container`: MapStateFailed, ParallelStateFailed).
 */
export type StepEvent =
  | { readonly kind: 'entered'; readonly state: string; readonly type: StateType; readonly at: string }
  | { readonly kind: 'exited'; readonly state: string; readonly type: StateType; readonly at: string }
  | {
      readonly kind: 'attempt-failed';
      readonly scope: 'task' | 'container';
      /** The state it is about, where the history says (the twin's events do). */
      readonly state?: string;
      readonly error: string;
      readonly cause: string;
    }
  /** An attempt was scheduled (Step Functions' TaskScheduled: the first is no retry). */
  | { readonly kind: 'scheduled' }
  /** An attempt was retried (the twin's StateRetried). */
  | { readonly kind: 'retried'; readonly state?: string };

const CONTAINERS: ReadonlySet<StateType> = new Set(['Map', 'Parallel']);

/** Every state type name, to tell a known type from anything else a history may carry. */
export const STATE_TYPES: ReadonlySet<string> = new Set<StateType>([
  'Task',
  'Choice',
  'Wait',
  'Pass',
  'Parallel',
  'Map',
  'Succeed',
  'Fail',
]);

interface Open {
  name: string;
  type: StateType;
  enteredAt: string;
  exitedAt?: string;
  outcome?: StepOutcome;
  error?: string;
  cause?: string;
  next?: string;
  scheduled: number;
  retries: number;
}

/**
 * Folds history events (oldest first) into the execution's top-level steps, in order.
 * States inside a Map or Parallel are not steps of their own: their events are counted by
 * depth (a container's entry opens a level, its exit closes it), and only the container's own
 * failures count against it. A step still open at the end takes the execution's `status`:
 * running, failed (with the execution's error when no attempt error was seen), aborted or
 * timed out.
 */
export function executionSteps(
  events: Iterable<StepEvent>,
  final: {
    readonly status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';
    readonly error?: string;
    readonly cause?: string;
  },
): ExecutionStep[] {
  const steps: Open[] = [];
  let open: Open | undefined;
  let depth = 0;
  for (const e of events) {
    switch (e.kind) {
      case 'entered': {
        if (depth === 0) {
          const prev = steps[steps.length - 1];
          if (prev && prev.next === undefined) prev.next = e.state;
          open = { name: e.state, type: e.type, enteredAt: e.at, scheduled: 0, retries: 0 };
          steps.push(open);
        }
        if (CONTAINERS.has(e.type)) depth++;
        break;
      }
      case 'exited': {
        if (CONTAINERS.has(e.type)) depth = Math.max(0, depth - 1);
        if (depth === 0 && open && open.name === e.state) {
          open.exitedAt = e.at;
          open.outcome = open.error === undefined ? 'succeeded' : 'caught';
          open = undefined;
        }
        break;
      }
      case 'attempt-failed': {
        if (open && owns(open, e.scope, depth) && (e.state === undefined || e.state === open.name)) {
          open.error = e.error;
          open.cause = e.cause;
        }
        break;
      }
      case 'scheduled': {
        if (open && owns(open, 'task', depth)) {
          open.scheduled++;
          if (open.scheduled > 1) {
            open.retries++;
            open.error = undefined;
            open.cause = undefined;
          }
        }
        break;
      }
      case 'retried': {
        const level = CONTAINERS.has(open?.type ?? 'Task') ? 1 : 0;
        if (open && depth === level && (e.state === undefined || e.state === open.name)) {
          open.retries++;
          open.error = undefined;
          open.cause = undefined;
        }
        break;
      }
    }
  }
  if (open) {
    open.outcome =
      final.status === 'RUNNING' || final.status === 'PENDING_REDRIVE'
        ? 'running'
        : final.status === 'ABORTED'
          ? 'aborted'
          : final.status === 'TIMED_OUT'
            ? 'timed-out'
            : final.status === 'FAILED'
              ? 'failed'
              : 'succeeded';
    if (open.outcome === 'failed' && open.error === undefined && final.error !== undefined) {
      open.error = final.error;
      open.cause = final.cause ?? '';
    }
  }
  return steps.map((s) => ({
    name: s.name,
    type: s.type,
    enteredAt: s.enteredAt,
    ...(s.exitedAt !== undefined ? { exitedAt: s.exitedAt } : {}),
    outcome: s.outcome ?? 'running',
    ...(s.error !== undefined ? { error: s.error, cause: s.cause ?? '' } : {}),
    ...(s.next !== undefined ? { next: s.next } : {}),
    retries: s.retries,
  }));
}

/** Whether an attempt event at `depth` is about the open step itself (not a state inside it). */
const owns = (open: Open, scope: 'task' | 'container', depth: number): boolean =>
  CONTAINERS.has(open.type) ? scope === 'container' && depth === 1 : scope === 'task' && depth === 0;
