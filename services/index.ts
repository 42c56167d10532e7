import { Catalog, ServiceDefinition, ValidateOptions } from '../lib/catalog';
import * as fleet from './fleet';

/** Every service of the fleet: the files listed in services/fleet.ts. */
export const serviceDefinitions: readonly ServiceDefinition[] = Object.values(fleet).filter(
  (value): value is ServiceDefinition => typeof value === 'object' && value !== null && 'name' in value,
);

/** The validated catalog; throws a ValidationError naming every bad field. */
export function loadCatalog(options: ValidateOptions = {}): Catalog {
  return new Catalog(serviceDefinitions, options);
}
