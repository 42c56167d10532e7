// The list of services: one line per service (`npm run new-service -- NAME` adds it). The export name is only an identifier.
export { default as billing } from './billing';
export { default as bulbApi } from './bulb-api';
export { default as storefront } from './storefront';
export { default as lightSchedules } from './light-schedules';
