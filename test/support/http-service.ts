// A service of busybox httpd (the image the Docker tests import) with an HTTP health check, or with a
// health check command instead (e.g. ['/bin/false'], which never passes).
import type { ServiceInput } from '../../src/domain/deployments/index.js';
import { BUSYBOX_IMAGE } from './busybox-image.js';

export const httpService = (name: string, replicas = 1, healthCommand?: string[]): ServiceInput => ({
  name,
  type: 'backend',
  image: BUSYBOX_IMAGE,
  replicas,
  ports: [{ containerPort: 8080 }],
  command: ['/bin/httpd', '-f', '-p', '8080', '-h', '/www'],
  healthCheck: healthCommand
    ? { command: healthCommand, intervalSeconds: 1, timeoutSeconds: 1, unhealthyThreshold: 1 }
    : { http: { path: '/index.html', port: 8080 }, intervalSeconds: 1, timeoutSeconds: 1 },
});
