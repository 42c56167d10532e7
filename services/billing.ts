import { defineService } from '../lib/catalog';

// Reads its database password from the secret store, and spreads its tasks over distinct hosts.
export default defineService({
  name: 'billing',
  repo: 'acme-lighting/billing',
  cpus: 0.5,
  mem: 512,
  instances: { staging: 1, production: 2 },
  env: { CURRENCY: 'EUR' },
  secrets: { DB_PASSWORD: 'billing/db-password' },
  constraints: [['hostname', 'UNIQUE']],
  smokeTest: './e2e.sh',
  approvers: ['group:billing-reviewers@acme-lighting.example'],
});
