// The orchestrator contract against a real Kubernetes API server: only when KUBECONFIG names one (none can run
// on these machines); the image must be pullable there (KUBERNETES_TEST_IMAGE, default busybox:1.36).
import { createKubernetesOrchestrator } from '../../../../src/adapters/orchestrator/kubernetes/kubernetes-orchestrator.js';
import { orchestratorContract } from '../orchestrator-contract.js';

orchestratorContract('kubernetes', async () => {
  const kubeconfig = process.env.KUBECONFIG;
  if (!kubeconfig) return { skipReason: 'KUBECONFIG is not set: no Kubernetes API server to run the contract against' };
  return {
    orchestrator: createKubernetesOrchestrator({ kubeconfig }),
    image: process.env.KUBERNETES_TEST_IMAGE ?? 'busybox:1.36',
    settleMs: 180_000,
  };
});
