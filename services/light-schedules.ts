import { defineService } from '../lib/catalog';

// Switches lights on a timetable. Shipped as an artifact, no Docker: `make` builds and tests it and leaves
// dist/app.tar.gz; Marathon's fetcher unpacks it in the task's sandbox and `cmd` starts it on $PORT_HTTP.
export default defineService({
  name: 'light-schedules',
  repo: 'acme-lighting/light-schedules',
  package: { kind: 'artifact', cmd: 'node server.js' },
  build: 'make',
  cpus: 0.25,
  mem: 128,
  instances: { staging: 1, production: 2 },
  healthCheck: { path: '/health' },
  smokeTest: './e2e.sh',
  approvers: ['user:ben@acme-lighting.example'],
});
