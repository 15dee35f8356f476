/** Which cfn-lint findings over Vigil's templates are known false positives (scripts/lint-templates.ts). */

/** One cfn-lint finding (its JSON output format). */
export interface LintFinding {
  readonly Filename: string;
  readonly Level: string;
  readonly Message: string;
  readonly Rule: { readonly Id: string };
  readonly Location: { readonly Path: readonly (string | number)[] };
}

/** A finding accepted on purpose, and why. */
interface KnownFalsePositive {
  readonly rule: string;
  readonly matches: (f: LintFinding, resourceType: string | undefined) => boolean;
  readonly reason: string;
}

export const KNOWN_FALSE_POSITIVES: readonly KnownFalsePositive[] = [
  {
    rule: 'E3002',
    matches: (f, type) => type === 'AWS::CloudWatch::Dashboard' && f.Location.Path.at(-1) === 'Tags',
    reason:
      "cfn-lint's schema for AWS::CloudWatch::Dashboard lags CloudFormation, which accepts Tags (CDK tags every stack resource).",
  },
  {
    rule: 'W3045',
    matches: (f, type) =>
      type === 'AWS::S3::Bucket' &&
      String(f.Location.Path[1]).startsWith('ConsoleLogs') &&
      f.Location.Path.at(-1) === 'AccessControl',
    reason:
      "The console's log bucket receives CloudFront standard logs, which are delivered with an ACL, so it keeps object-writer ownership; with ACLs enabled CDK grants S3 server-access logging through the LogDeliveryWrite canned ACL (lib/constructs/console-site.ts).",
  },
  {
    rule: 'W3005',
    matches: () => true,
    reason:
      'CDK writes an explicit DependsOn beside a Ref/GetAtt on purpose (e.g. a role policy before its function); redundant, not wrong.',
  },
];

/** Findings that are not known false positives, given each template's resource types. */
export const unexpectedFindings = (
  findings: readonly LintFinding[],
  resourceType: (file: string, logicalId: string) => string | undefined,
): LintFinding[] =>
  findings.filter((f) => {
    const [section, id] = f.Location.Path;
    const type = section === 'Resources' ? resourceType(f.Filename, String(id)) : undefined;
    return !KNOWN_FALSE_POSITIVES.some((k) => k.rule === f.Rule.Id && k.matches(f, type));
  });
