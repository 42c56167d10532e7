export * from './message';
export * from './plan-notice';
export * from './stand-in';
export * from './remind';
