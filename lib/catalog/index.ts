import { C2CError, ValidationError } from '../errors';
import { ServiceDefinition } from './types';
import { validateCatalog, ValidateOptions } from './validate';

export * from './types';
export * from './artifact';
export type { ValidateOptions } from './validate';

/** The validated set of services: the one catalog that main.ts, the deploy script and the demo all read. */
export class Catalog {
  readonly services: readonly ServiceDefinition[];

  /** @throws ValidationError listing every violation of every service. */
  constructor(defs: readonly ServiceDefinition[], options: ValidateOptions = {}) {
    const violations = validateCatalog(defs, options);
    if (violations.length > 0) throw new ValidationError(violations);
    this.services = [...defs].sort((a, b) => a.name.localeCompare(b.name));
  }

  names(): string[] {
    return this.services.map((s) => s.name);
  }

  /** @throws C2CError UNKNOWN_SERVICE, naming the services that exist. */
  get(name: string): ServiceDefinition {
    const found = this.services.find((s) => s.name === name);
    if (!found) {
      throw new C2CError('UNKNOWN_SERVICE', `unknown service '${name}'`, {
        hint: `known services: ${this.names().join(', ')} (see 'deploy list'); add one with 'npm run new-service -- ${name}'`,
      });
    }
    return found;
  }
}
