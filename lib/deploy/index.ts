/** The deploy library: never reads argv, never prints, never exits; returns values or throws C2CError. */
export * from './types';
export * from './diff';
export * from './wait';
export * from './pool';
export * from './apply';
export * from './plan';
export * from './rollback';
export * from './status';
export * from './all';
