import { C2CError, ValidationError } from '../errors';
import { ServiceDefinition } from './types';
import { duplicateNameViolation, validateCatalog, validateService, ValidateOptions } from './validate';

export * from './types';
export * from './artifact';
export type { ValidateOptions } from './validate';

/** A service whose file breaks a rule: kept out of a tolerant catalog, with what is wrong. */
export interface BrokenService {
  readonly name: string;
  readonly error: ValidationError;
}

/** The validated set of services: the one catalog that main.ts, the deploy script and the demo all read. */
export class Catalog {
  readonly services: readonly ServiceDefinition[];
  /** Services left out because their file breaks a rule (only in a {@link Catalog.tolerant} catalog). */
  readonly broken: readonly BrokenService[] = [];

  /** @throws ValidationError listing every violation of every service. */
  constructor(defs: readonly ServiceDefinition[], options: ValidateOptions = {}, broken: readonly BrokenService[] | null = null) {
    if (broken === null) {
      const violations = validateCatalog(defs, options);
      if (violations.length > 0) throw new ValidationError(violations);
    } else this.broken = broken;
    // Names are lower-case letters, digits and '-' (validated): code-unit order is their alphabetical order, without
    // the ICU collator that localeCompare loads on first use (10 ms and more at every start of the deploy CLI).
    this.services = [...defs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * The services that meet every rule, the others set aside in `broken`: one broken service file does not stop the
   * commands about the other services (synth, which builds all of them, uses the strict constructor).
   */
  static tolerant(defs: readonly ServiceDefinition[], options: ValidateOptions = {}): Catalog {
    const good: ServiceDefinition[] = [];
    const broken: BrokenService[] = [];
    const seen = new Map<string, number>();
    defs.forEach((def, i) => {
      const first = seen.get(def.name);
      const violations = [...(first === undefined ? [] : [duplicateNameViolation(def.name, first, i)]), ...validateService(def, options)];
      if (first === undefined) seen.set(def.name, i);
      if (violations.length === 0) good.push(def);
      else broken.push({ name: String(def.name), error: new ValidationError(violations) });
    });
    return new Catalog(good, options, broken);
  }

  names(): string[] {
    return this.services.map((s) => s.name);
  }

  /** @throws C2CError UNKNOWN_SERVICE, naming the services that exist. */
  get(name: string): ServiceDefinition {
    const found = this.services.find((s) => s.name === name);
    const broken = this.broken.find((b) => b.name === name);
    if (!found && broken) throw broken.error;
    if (!found) {
      throw new C2CError('UNKNOWN_SERVICE', `unknown service '${name}'`, {
        hint: `known services: ${this.names().join(', ')} (see 'deploy list'); add one with 'npm run new-service -- ${name}'`,
      });
    }
    return found;
  }
}
