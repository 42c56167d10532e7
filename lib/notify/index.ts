export * from './message';
export * from './plan';
