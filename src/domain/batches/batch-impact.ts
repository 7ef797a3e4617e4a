// Dry run / impact analysis, pure: the conflict report a real start would produce, plus what the batch
// would touch. Nothing is recorded; the command layer answers it as is.
import { INHERITED_JSON_FIELDS, INHERITED_SCALAR_FIELDS } from '../templates/template-inheritance.js';
import { detectConflicts, type ConflictReport } from './batch-conflicts.js';
import type { BatchItem, BatchPlan } from './batch-plan.js';
import { snapshotOf, type BatchSnapshot } from './batch-snapshot.js';

export const RISK_LEVELS = ['low', 'medium', 'high', 'critical'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

export type BatchImpact = {
  /** Templates the running items would create or change. */
  templatesChanged: string[];
  /** Descendants (not themselves in the batch) whose effective template would change. */
  affectedDescendants: string[];
  /** Successful usages of the existing templates touched: courses made from what changes. */
  usageCount: number;
  risk: { level: RiskLevel; rule: string; reason: string };
};

export type BatchAnalysis = ConflictReport & { impact: BatchImpact };

/**
 * Fields whose change reaches the descendants: what they inherit, how this template combines with its own
 * parent (which changes what it passes on), and isPublic (another tenant's child stops inheriting when
 * its parent is no longer visible). name and templateType stay with the template.
 */
export const FIELDS_REACHING_DESCENDANTS: readonly string[] = [
  ...INHERITED_JSON_FIELDS,
  ...INHERITED_SCALAR_FIELDS,
  'mergeStrategy',
  'selectiveKeys',
  'isPublic',
];

function reachesDescendants(item: BatchItem): boolean {
  switch (item.operation) {
    case 'create':
      return false; // a new template has no descendants yet
    case 'update':
      return Object.keys(item.changes).some((field) => FIELDS_REACHING_DESCENDANTS.includes(field));
    case 'archive':
      return false; // an archived parent stays visible: its children keep inheriting the same content
    case 'changeParent':
    case 'delete':
    case 'restore':
      return true;
  }
}

// Risk rules, the first that holds sets the level (`rule` names it):
// critical  risk.delete_in_use            a delete touches a template with usages or descendants
//           risk.descendants_1000         ≥ 1,000 descendants would change
//           risk.usage_10000              the touched templates have ≥ 10,000 usages
// high      risk.overridden               an item overrides a conflict (applies over someone else's change
//                                         or orphans children)
//           risk.descendants_100          ≥ 100 descendants would change
//           risk.usage_1000               ≥ 1,000 usages
//           risk.templates_1000           ≥ 1,000 templates change
// medium    risk.descendants              some descendants would change
//           risk.in_use                   some touched template is in use
//           risk.templates_100            ≥ 100 templates change
//           risk.conflicts                some item was skipped or merged because of a conflict
// low       risk.low                      none of the above
function riskOf(
  plan: Pick<BatchPlan, 'items'>,
  report: ConflictReport,
  snapshot: BatchSnapshot,
  changed: number,
  descendants: number,
  usage: number,
): BatchImpact['risk'] {
  const runs = report.decisions.filter((d) => d.run);
  const deleteInUse = runs.some((d) => {
    const template = snapshotOf(snapshot, d.templateId);
    return (
      plan.items[d.index]?.operation === 'delete' &&
      template !== undefined &&
      (template.usageCount > 0 || template.descendantIds.length > 0)
    );
  });
  const rules: [boolean, BatchImpact['risk']['level'], string, string][] = [
    [deleteInUse, 'critical', 'risk.delete_in_use', 'a deleted template has usages or descendants'],
    [descendants >= 1000, 'critical', 'risk.descendants_1000', `${descendants} descendant templates would change`],
    [usage >= 10_000, 'critical', 'risk.usage_10000', `the touched templates have ${usage} usages`],
    [runs.some((d) => d.resolution === 'overridden'), 'high', 'risk.overridden', 'some items override a conflict'],
    [descendants >= 100, 'high', 'risk.descendants_100', `${descendants} descendant templates would change`],
    [usage >= 1000, 'high', 'risk.usage_1000', `the touched templates have ${usage} usages`],
    [changed >= 1000, 'high', 'risk.templates_1000', `${changed} templates would change`],
    [descendants > 0, 'medium', 'risk.descendants', `${descendants} descendant templates would change`],
    [usage > 0, 'medium', 'risk.in_use', `the touched templates have ${usage} usages`],
    [changed >= 100, 'medium', 'risk.templates_100', `${changed} templates would change`],
    [
      report.conflicts.length > 0,
      'medium',
      'risk.conflicts',
      `${report.conflicts.length} conflict(s) were resolved by ${report.resolution}`,
    ],
  ];
  const hit = rules.find(([holds]) => holds);
  return hit
    ? { level: hit[1], rule: hit[2], reason: hit[3] }
    : { level: 'low', rule: 'risk.low', reason: 'no descendants, usages or conflicts involved' };
}

/** The dry run of a plan: conflicts, decisions and impact. An aborted report changes nothing, so its
 * impact lists no template (its risk then comes from the conflicts alone). */
export function analyzeBatch(plan: Pick<BatchPlan, 'items' | 'options'>, snapshot: BatchSnapshot): BatchAnalysis {
  const report = detectConflicts(plan, snapshot);
  const runs = report.aborted ? [] : report.decisions.filter((d) => d.run);
  const templatesChanged = runs.map((d) => d.templateId);
  const inBatch = new Set(templatesChanged);
  const descendants = new Set<string>();
  let usageCount = 0;
  for (const decision of runs) {
    const item = plan.items[decision.index];
    const template = snapshotOf(snapshot, decision.templateId);
    if (item === undefined || template === undefined) continue;
    usageCount += template.usageCount;
    if (reachesDescendants(item))
      template.descendantIds
        .map((id) => id.toLowerCase())
        .filter((id) => !inBatch.has(id))
        .forEach((id) => descendants.add(id));
  }
  const affectedDescendants = [...descendants].sort();
  const risk = riskOf(plan, { ...report, decisions: runs }, snapshot, templatesChanged.length, affectedDescendants.length, usageCount);
  return { ...report, impact: { templatesChanged, affectedDescendants, usageCount, risk } };
}
