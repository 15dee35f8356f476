import { describe, expect, it } from 'vitest';
import { type LintFinding, unexpectedFindings } from '../../scripts/cfn-lint-filter.ts';

const finding = (rule: string, path: (string | number)[]): LintFinding => ({
  Filename: 't.json',
  Level: 'Error',
  Message: 'm',
  Rule: { Id: rule },
  Location: { Path: path },
});

describe('cfn-lint false-positive filter', () => {
  const types: Record<string, string> = { Dash: 'AWS::CloudWatch::Dashboard', Topic: 'AWS::SNS::Topic' };
  const typeOf = (_file: string, id: string) => types[id];

  it('drops Tags on a dashboard, the schema lag the issue names', () => {
    expect(
      unexpectedFindings([finding('E3002', ['Resources', 'Dash', 'Properties', 'Tags'])], typeOf),
    ).toEqual([]);
  });

  it('keeps the same rule on another resource type or another property', () => {
    const kept = [
      finding('E3002', ['Resources', 'Topic', 'Properties', 'Tags']),
      finding('E3002', ['Resources', 'Dash', 'Properties', 'Bogus']),
    ];
    expect(unexpectedFindings(kept, typeOf)).toEqual(kept);
  });

  it('keeps every other rule', () => {
    const kept = [finding('E3012', ['Resources', 'Topic', 'Properties', 'DisplayName'])];
    expect(unexpectedFindings(kept, typeOf)).toEqual(kept);
  });
});
