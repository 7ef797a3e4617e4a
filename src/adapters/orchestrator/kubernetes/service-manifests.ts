// Pure: the Kubernetes objects of one release of one service. Each release is a Deployment of its own (the
// port's rolling replacement: the new release runs beside the old until the caller prunes it); the Service
// selects every release of the service; config and secret volumes are a ConfigMap/Secret per release,
// persistent ones a PersistentVolumeClaim per service; a frontend gets the environment's Ingress.
import { Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import type { DeploymentTarget, HealthCheckSpec, ResolvedService, ResolvedVolume } from '../../../ports/orchestrator.js';
import { LABEL, deploymentKey, serviceLabels, slug, specFingerprint, targetName } from '../naming.js';
import { podSecurityLevel } from './environment-manifests.js';

export type ServiceManifest = Deployment | Service | ConfigMap | Secret | PersistentVolumeClaim | Ingress;

/** A DNS-1035 label (a Service name): starts with a letter, at most 63 characters, unique per deployment. */
export const serviceObjectName = (deployment: DeploymentTarget, service: string): string => {
  const base = `${slug(deployment.deploymentName, 24)}-${slug(service, 24)}-${deploymentKey(deployment).slice(0, 6)}`;
  return /^[a-z]/.test(base) ? base : `d-${base}`;
};

export const releaseObjectName = (deployment: DeploymentTarget, service: string, release: number): string =>
  `${serviceObjectName(deployment, service)}-r${release}`;

export const volumeObjectName = (deployment: DeploymentTarget, service: string, volume: ResolvedVolume, release: number): string =>
  volume.kind === 'persistent'
    ? `${serviceObjectName(deployment, service)}-${slug(volume.name, 40)}`
    : `${releaseObjectName(deployment, service, release)}-${slug(volume.name, 40)}`;

const probeOf = (check: HealthCheckSpec) => ({
  ...(check.http ? { httpGet: { path: check.http.path, port: check.http.port } } : { exec: { command: [...(check.command ?? ['true'])] } }),
  periodSeconds: Math.max(1, Math.round(check.intervalSeconds)),
  timeoutSeconds: Math.max(1, Math.round(check.timeoutSeconds)),
  failureThreshold: Math.max(1, check.unhealthyThreshold),
});

const quantity = {
  cpu: (millis: number) => `${millis}m`,
  memory: (mb: number) => `${mb}Mi`,
};

export function serviceManifests(deployment: DeploymentTarget, service: ResolvedService): ServiceManifest[] {
  const namespace = targetName(deployment);
  const base = serviceLabels(deployment, service.name);
  const releaseLabels = { ...base, [LABEL.release]: String(service.release) };
  const name = releaseObjectName(deployment, service.name, service.release);
  const security = deployment.security ?? {};
  const restricted = podSecurityLevel(deployment) === 'restricted';
  const manifests: ServiceManifest[] = [];

  for (const volume of service.volumes) {
    const volumeName = volumeObjectName(deployment, service.name, volume, service.release);
    if (volume.kind === 'configmap') {
      manifests.push(new ConfigMap({ metadata: { name: volumeName, namespace, labels: releaseLabels }, data: { ...volume.files } }));
    } else if (volume.kind === 'secret') {
      const data = Object.fromEntries(
        Object.entries(volume.files ?? {}).map(([key, value]) => [key, Buffer.from(value, 'utf8').toString('base64')]),
      );
      manifests.push(new Secret({ metadata: { name: volumeName, namespace, labels: releaseLabels }, type: 'Opaque', data }));
    } else if (volume.kind === 'persistent') {
      manifests.push(
        new PersistentVolumeClaim({
          metadata: { name: volumeName, namespace, labels: base },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: volume.size ?? '1Gi' } } },
        }),
      );
    }
  }

  const resources = service.resources ?? {};
  const limits = {
    ...(resources.cpuMillis ? { cpu: quantity.cpu(resources.cpuMillis) } : {}),
    ...(resources.memoryMb ? { memory: quantity.memory(resources.memoryMb) } : {}),
  };
  const check = service.healthCheck;
  manifests.push(
    new Deployment({
      metadata: { name, namespace, labels: releaseLabels, annotations: { [LABEL.spec]: specFingerprint(service) } },
      spec: {
        replicas: service.replicas,
        selector: {
          matchLabels: {
            [LABEL.deployment]: deployment.deploymentId,
            [LABEL.service]: service.name,
            [LABEL.release]: String(service.release),
          },
        },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        progressDeadlineSeconds: 600,
        template: {
          metadata: { labels: releaseLabels },
          spec: {
            ...(security.serviceAccount ? { serviceAccountName: security.serviceAccount } : {}),
            ...(restricted ? { securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } } } : {}),
            containers: [
              {
                name: slug(service.name, 63),
                image: service.image,
                ...(service.command && service.command.length > 0 ? { command: [...service.command] } : {}),
                env: Object.entries(service.env).map(([key, value]) => ({ name: key, value })),
                ports: service.ports.map((p) => ({
                  containerPort: p.containerPort,
                  protocol: p.protocol === 'udp' ? 'UDP' : 'TCP',
                  ...(p.hostPort !== undefined ? { hostPort: p.hostPort } : {}),
                })),
                ...(Object.keys(limits).length > 0 ? { resources: { requests: limits, limits } } : {}),
                ...(check
                  ? {
                      readinessProbe: { ...probeOf(check), successThreshold: Math.max(1, check.healthyThreshold) },
                      livenessProbe: probeOf(check),
                    }
                  : {}),
                volumeMounts: service.volumes.map((volume) => ({
                  name: slug(volume.name, 63),
                  mountPath: volume.mountPath,
                  ...(volume.kind === 'configmap' || volume.kind === 'secret' ? { readOnly: true } : {}),
                })),
                securityContext: {
                  ...(security.runAsNonRoot !== undefined ? { runAsNonRoot: security.runAsNonRoot } : {}),
                  ...(security.readOnlyRootFilesystem !== undefined ? { readOnlyRootFilesystem: security.readOnlyRootFilesystem } : {}),
                  ...(security.allowPrivilegeEscalation !== undefined
                    ? { allowPrivilegeEscalation: security.allowPrivilegeEscalation }
                    : {}),
                  ...(restricted ? { capabilities: { drop: ['ALL'] } } : {}),
                },
              },
            ],
            volumes: service.volumes.map((volume) => {
              const volumeName = volumeObjectName(deployment, service.name, volume, service.release);
              const named = slug(volume.name, 63);
              switch (volume.kind) {
                case 'configmap':
                  return { name: named, configMap: { name: volumeName } };
                case 'secret':
                  return { name: named, secret: { secretName: volumeName, defaultMode: 0o444 } };
                case 'persistent':
                  return { name: named, persistentVolumeClaim: { claimName: volumeName } };
                default:
                  return { name: named, emptyDir: {} };
              }
            }),
          },
        },
      },
    }),
  );

  if (service.ports.length > 0) {
    const loadBalancer = service.type === 'frontend' ? (deployment.networking?.loadBalancer ?? 'clusterip') : 'clusterip';
    const type = loadBalancer === 'nodeport' ? 'NodePort' : loadBalancer === 'loadbalancer' ? 'LoadBalancer' : 'ClusterIP';
    manifests.push(
      new Service({
        metadata: { name: serviceObjectName(deployment, service.name), namespace, labels: base },
        spec: {
          type,
          selector: { [LABEL.deployment]: deployment.deploymentId, [LABEL.service]: service.name },
          ports: service.ports.map((p) => ({
            name: `${p.protocol}-${p.containerPort}`,
            port: p.containerPort,
            targetPort: p.containerPort,
            protocol: p.protocol === 'udp' ? 'UDP' : 'TCP',
          })),
        },
      }),
    );
    const host =
      deployment.networking?.ingressHost ??
      (deployment.networking?.dns ? `${slug(deployment.deploymentName, 40)}.${deployment.networking.dns}` : undefined);
    const tcp = service.ports.find((p) => p.protocol === 'tcp');
    if (service.type === 'frontend' && host && tcp) {
      manifests.push(
        new Ingress({
          metadata: { name: serviceObjectName(deployment, service.name), namespace, labels: base },
          spec: {
            rules: [
              {
                host,
                http: {
                  paths: [
                    {
                      path: '/',
                      pathType: 'Prefix',
                      backend: { service: { name: serviceObjectName(deployment, service.name), port: { number: tcp.containerPort } } },
                    },
                  ],
                },
              },
            ],
            ...(deployment.networking?.tls
              ? { tls: [{ hosts: [host], secretName: `${serviceObjectName(deployment, service.name)}-tls` }] }
              : {}),
          },
        }),
      );
    }
  }
  return manifests;
}
