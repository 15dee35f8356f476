import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VigilError } from '#core/errors.ts';
import {
  aliasAt,
  aliasEvent,
  assertAliasName,
  assertCanTakeAlias,
  assertModelName,
  DEFAULT_POLICY,
  decide,
  rollbackTarget,
  servedBefore,
} from '#core/registry/rules.ts';
import type { ApprovalStatus, HistoryEvent, ModelVersion } from '#core/registry/types.ts';

const where = { model: 'm', version: 1 };

function version(approval: ApprovalStatus): ModelVersion {
  return {
    name: 'm',
    version: 1,
    artifactUri: 'file:///x',
    sha256: 'a'.repeat(64),
    summary: { algorithm: 'iforest', features: ['cpu'], threshold: 0.5, createdAt: '', trainingRows: 1 },
    metrics: {},
    lineage: {},
    approval,
    registeredAt: '2025-01-01T00:00:00.000Z',
    registeredBy: 'a',
  };
}

/**
 * Alias events for a sequence of moves; `rb:N` is a rollback to N, `del` a delete, a number a set.
 */
function moves(seq: (number | `rb:${number}` | 'del')[], alias = 'production'): HistoryEvent[] {
  let current: number | undefined;
  return seq.map((step, i) => {
    const deleted = step === 'del';
    const rolled = typeof step === 'string' && !deleted;
    const to = deleted ? undefined : rolled ? Number(step.slice(3)) : (step as number);
    const e = aliasEvent({
      alias,
      type: deleted ? 'alias-deleted' : rolled ? 'rolled-back' : 'alias-set',
      revision: i + 1,
      at: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
      actor: 'a',
      ...(current !== undefined ? { from: current } : {}),
      ...(to !== undefined ? { to } : {}),
    });
    current = to;
    return e;
  });
}

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof VigilError) return e.code;
    throw e;
  }
  return 'none';
};

describe('approval state machine', () => {
  it('moves a pending version to Approved or Rejected', () => {
    expect(decide('PendingManualApproval', 'Approved', where)).toBe('Approved');
    expect(decide('PendingManualApproval', 'Rejected', where)).toBe('Rejected');
  });

  it('refuses every transition out of a decided state', () => {
    for (const from of ['Approved', 'Rejected'] as const) {
      for (const to of ['Approved', 'Rejected'] as const) {
        expect(code(() => decide(from, to, where))).toBe('Conflict');
      }
    }
  });
});

describe('alias eligibility', () => {
  it('lets only Approved versions take a protected alias', () => {
    expect(code(() => assertCanTakeAlias(version('Approved'), 'production', DEFAULT_POLICY))).toBe('none');
    expect(
      code(() => assertCanTakeAlias(version('PendingManualApproval'), 'production', DEFAULT_POLICY)),
    ).toBe('NotApproved');
  });

  it('lets pending versions take unprotected aliases, and honours a configured protected set', () => {
    expect(code(() => assertCanTakeAlias(version('PendingManualApproval'), 'staging', DEFAULT_POLICY))).toBe(
      'none',
    );
    const strict = { protectedAliases: ['production', 'staging'] };
    expect(code(() => assertCanTakeAlias(version('PendingManualApproval'), 'staging', strict))).toBe(
      'NotApproved',
    );
  });

  it('keeps rejected versions off every alias', () => {
    expect(code(() => assertCanTakeAlias(version('Rejected'), 'canary', DEFAULT_POLICY))).toBe('NotApproved');
  });
});

describe('names', () => {
  it('accepts safe model and alias names', () => {
    for (const n of ['default', 'cpu-model_2', '0abc']) expect(code(() => assertModelName(n))).toBe('none');
    for (const a of ['production', 'staging', 'canary-eu_1'])
      expect(code(() => assertAliasName(a))).toBe('none');
  });

  it('refuses names that could break keys or URLs', () => {
    for (const n of ['', 'Default', 'a/b', 'a#b', '../x', '-x', 'x'.repeat(64)]) {
      expect(
        code(() => assertModelName(n)),
        n,
      ).toBe('BadRequest');
    }
    for (const a of ['', 'Production', '1prod', 'a#b', 'a/b', 'x'.repeat(33)]) {
      expect(
        code(() => assertAliasName(a)),
        a,
      ).toBe('BadRequest');
    }
  });
});

describe('rollback', () => {
  const at = (current?: number) => ({ model: 'm', alias: 'production', ...(current ? { current } : {}) });

  it('undoes the last move: back to the version that move replaced', () => {
    expect(rollbackTarget(moves([1, 2, 3]), at(3))).toBe(2);
  });

  it('undoes a rollback like any other move (rollback twice = redo)', () => {
    expect(rollbackTarget(moves([1, 2, 3, 'rb:2']), at(2))).toBe(3);
    expect(rollbackTarget(moves([1, 2, 3, 'rb:1']), at(1))).toBe(3);
  });

  it('restores an alias after its deletion', () => {
    expect(rollbackTarget(moves([4, 5, 'del']), at())).toBe(5);
  });

  it('refuses to undo the creation of the alias, and an alias never set', () => {
    expect(code(() => rollbackTarget(moves([1]), at(1)))).toBe('BadRequest');
    expect(code(() => rollbackTarget([], at()))).toBe('BadRequest');
  });

  it('accepts --to a version the alias served, and refuses the current one or one it never served', () => {
    const h = moves([1, 3, 5]);
    expect(rollbackTarget(h, at(5), 1)).toBe(1);
    expect(rollbackTarget(h, at(5), 3)).toBe(3);
    expect(code(() => rollbackTarget(h, at(5), 2))).toBe('BadRequest');
    expect(code(() => rollbackTarget(h, at(5), 5))).toBe('BadRequest');
  });

  it('lists the versions an alias served, once each, ignoring other aliases', () => {
    const h = [...moves([1, 2, 'rb:1', 3]), ...moves([7, 8, 9], 'staging')];
    expect(servedBefore(h, 'production', 3)).toEqual([1, 2]);
    expect(servedBefore(h, 'staging', 9)).toEqual([7, 8]);
    expect(rollbackTarget(h, { model: 'm', alias: 'staging', current: 9 })).toBe(8);
  });
});

describe('aliasAt', () => {
  it('is undefined before the first move and follows every move afterwards', () => {
    const h = moves([1, 2, 'rb:1', 4]);
    expect(aliasAt(h, 'production', new Date(Date.UTC(2024, 11, 31)))).toBeUndefined();
    expect(h.map((e) => aliasAt(h, 'production', new Date(e.at)))).toEqual([1, 2, 1, 4]);
    expect(aliasAt(h, 'production', new Date(Date.UTC(2025, 0, 1, 0, 0, 1, 500)))).toBe(2);
    expect(aliasAt(h, 'staging', new Date(Date.UTC(2026, 0, 1)))).toBeUndefined();
  });

  it('is undefined again after a delete', () => {
    const h = moves([1, 'del', 2]);
    expect(h.map((e) => aliasAt(h, 'production', new Date(e.at)))).toEqual([1, undefined, 2]);
  });

  it('agrees with a brute-force replay for random move sequences', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 30 }),
        fc.nat(40),
        (seq, s) => {
          const h = moves(seq);
          const t = new Date(Date.UTC(2025, 0, 1, 0, 0, s));
          // Reference: the (s+1)-th move has happened at second s.
          const expected = s < seq.length ? seq[s] : seq.at(-1);
          expect(aliasAt(h, 'production', t)).toBe(expected);
        },
      ),
    );
  });
});
