// Deployment metrics in /metrics: deployments by status (from the read model at scrape time, all tenants
// together: no tenant label), rollout duration, rollbacks (automatic / manual), drift findings, and the
// reconciler's time per step.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { DEPLOYMENT_STATUSES, type DeploymentEvent, type DriftFinding, type PlanStep } from '../domain/deployments/index.js';
import type { DriftObserver } from '../processes/deployments/deployment-drift-check.js';
import type { ReconcilerObserver } from '../processes/deployments/deployment-steps.js';

export interface DeploymentMonitor extends ReconcilerObserver, DriftObserver {
  rolledBack(automatic: boolean): void;
}

export function deploymentMetrics(registry: Registry, countByStatus: () => Promise<Map<string, number>>): DeploymentMonitor {
  new Gauge({
    name: 'deployments',
    help: 'Deployments by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const counts = await countByStatus().catch(() => new Map<string, number>());
      for (const status of DEPLOYMENT_STATUSES) this.set({ status }, counts.get(status) ?? 0);
    },
  });
  const rollout = new Histogram({
    name: 'deployment_rollout_duration_seconds',
    help: 'Time from a rollout planned to its outcome',
    labelNames: ['operation', 'outcome'],
    buckets: [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers: [registry],
  });
  const rollbacks = new Counter({
    name: 'deployment_rollbacks_total',
    help: 'Rollbacks started',
    labelNames: ['kind'],
    registers: [registry],
  });
  const drift = new Counter({
    name: 'deployment_drift_findings_total',
    help: 'Drift findings recorded by the periodic check',
    labelNames: ['kind', 'corrected'],
    registers: [registry],
  });
  const steps = new Histogram({
    name: 'deployment_reconcile_step_seconds',
    help: 'Time of one reconcile step (orchestrator call included)',
    labelNames: ['kind'],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
    registers: [registry],
  });
  return {
    stepFinished: (kind: PlanStep['kind'], seconds: number) => steps.observe({ kind }, seconds),
    recorded(events: readonly DeploymentEvent[]) {
      for (const event of events) {
        if (event.type === 'RolloutSucceeded')
          rollout.observe({ operation: event.data.operation, outcome: 'succeeded' }, event.data.durationMs / 1000);
        if (event.type === 'RolloutFailed') rollout.observe({ operation: event.data.operation, outcome: 'failed' }, 0);
        if (event.type === 'DeploymentRolledBack' && event.data.automatic) rollbacks.inc({ kind: 'automatic' });
      }
    },
    rolledBack: (automatic) => rollbacks.inc({ kind: automatic ? 'automatic' : 'manual' }),
    driftDetected(findings: readonly DriftFinding[], corrected: boolean) {
      for (const finding of findings) drift.inc({ kind: finding.kind, corrected: String(corrected) });
    },
  };
}
