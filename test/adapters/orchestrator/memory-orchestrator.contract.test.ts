// The orchestrator contract against the in-memory fake the reconciler tests use: the fake keeps the port's
// promises, or those tests prove nothing about the real adapters.
import { memoryOrchestrator } from '../../support/memory-orchestrator.js';
import { orchestratorContract } from './orchestrator-contract.js';

orchestratorContract('memory (test fake)', async () => ({
  orchestrator: memoryOrchestrator({ healthyAfterMs: 50 }),
  image: 'localhost/busybox:latest',
  settleMs: 5_000,
}));
