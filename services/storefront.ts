import { defineService } from '../lib/catalog';

// Public web front end, served through marathon-lb under its own host name.
export default defineService({
  name: 'storefront',
  repo: 'acme-lighting/storefront',
  cpus: 0.25,
  mem: 192,
  instances: { staging: 1, production: 2 },
  virtualHost: { staging: 'shop.staging.acme-lighting.example', production: 'shop.acme-lighting.example' },
  smokeTest: './e2e.sh',
  approvers: ['user:ana@acme-lighting.example'],
});
