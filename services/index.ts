import { Catalog, ServiceDefinition, ValidateOptions } from '../lib/catalog';
import * as list from './service-list';

/** Every service of the fleet: the files listed in services/service-list.ts. */
export const serviceDefinitions: readonly ServiceDefinition[] = Object.values(list).filter(
  (value): value is ServiceDefinition => typeof value === 'object' && value !== null && 'name' in value,
);

/** The validated catalog; throws a ValidationError naming every bad field. */
export function loadCatalog(options: ValidateOptions = {}): Catalog {
  return new Catalog(serviceDefinitions, options);
}

/** The catalog of the services that meet every rule; the others are in its `broken` list (the deploy CLI reads this). */
export function loadTolerantCatalog(options: ValidateOptions = {}): Catalog {
  return Catalog.tolerant(serviceDefinitions, options);
}
