import { defineService } from '../lib/catalog';

// Two ports: the public API and an admin port that serves the health check.
export default defineService({
  name: 'bulb-api',
  repo: 'acme-lighting/bulb-api',
  description: 'Bulb control API',
  cpus: 0.25,
  mem: 256,
  instances: { staging: 1, production: 3 },
  ports: [
    { name: 'http', containerPort: 8080 },
    { name: 'admin', containerPort: 9090 },
  ],
  healthCheck: { path: '/health', portIndex: 1 },
  env: { LOG_LEVEL: 'info' },
  smokeTest: './e2e.sh',
  approvers: ['user:ana@acme-lighting.example', 'user:ben@acme-lighting.example'],
});
