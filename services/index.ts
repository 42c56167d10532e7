import { Catalog } from '../lib/catalog';
import bulbApi from './bulb-api';
import billing from './billing';
import storefront from './storefront';

/** Every service of the fleet. Adding a service: one file in services/ and one line here (`npm run new-service`). */
export const serviceDefinitions = [
  bulbApi,
  billing,
  storefront,
];

/** The validated catalog; importing it throws a ValidationError naming every bad field. */
export function loadCatalog(): Catalog {
  return new Catalog(serviceDefinitions);
}
